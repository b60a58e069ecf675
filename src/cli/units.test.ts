import { describe, expect, it } from 'vitest';
import { renderTable } from './table.js';
import {
  formatAgo,
  formatBytes,
  formatEta,
  formatPercent,
  formatRate,
  formatTime,
  truncate,
} from './units.js';

describe('units', () => {
  it('prints sizes in binary units with three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(12.34 * 1024 * 1024)).toBe('12.3 MiB');
    expect(formatBytes(4119071)).toBe('3.93 MiB');
    expect(formatBytes(300 * 1024 ** 3)).toBe('300 GiB');
  });

  it('prints rates, ETAs and percentages the way the bars show them', () => {
    expect(formatRate(12.3 * 1024 * 1024)).toBe('12.3 MiB/s');
    expect(formatRate(0)).toBe('-');
    expect(formatEta(42_000)).toBe('0:42');
    expect(formatEta(41_001)).toBe('0:42');
    expect(formatEta(12 * 60_000 + 5_000)).toBe('12:05');
    expect(formatEta(3_723_000)).toBe('1:02:03');
    expect(formatEta(undefined)).toBe('-:--');
    expect(formatPercent(1, 3)).toBe('33%');
    expect(formatPercent(5, 0)).toBe('-');
    expect(formatTime('2026-11-26T02:58:44.123Z')).toBe('2026-11-26 02:58:44');
  });

  it('prints how long ago something happened, and cuts long cells', () => {
    const now = Date.UTC(2026, 10, 26, 12);
    expect(formatAgo(null, now)).toBe('never');
    expect(formatAgo(now + 500, now)).toBe('just now');
    expect(formatAgo(now - 12_400, now)).toBe('12 s ago');
    expect(formatAgo(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(formatAgo(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(formatAgo(now - 3 * 86_400_000, now)).toBe('3 d ago');
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('a rather long error message', 10)).toBe('a rather …');
  });
});

describe('renderTable', () => {
  it('aligns columns, right-aligning numbers, with no trailing spaces', () => {
    const out = renderTable(
      [{ header: 'DP' }, { header: 'Sent', align: 'right' }, { header: 'Note' }],
      [
        ['DP01', '3.93 MiB', ''],
        ['DP-LONGER', '12 B', 'x'],
      ],
    );
    expect(out).toBe(
      ['DP             Sent  Note', 'DP01       3.93 MiB', 'DP-LONGER      12 B  x', ''].join('\n'),
    );
  });
});
