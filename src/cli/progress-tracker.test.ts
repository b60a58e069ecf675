import { describe, expect, it } from 'vitest';
import type { DistPointStatus } from '../distribution/index.js';
import { ProgressTracker } from './progress-tracker.js';
import { describeBar } from './progress-view.js';

function row(name: string, over: Partial<DistPointStatus> = {}): DistPointStatus {
  return {
    PackageID: 'PS100001',
    ServerNALPath: `\\\\${name}\\`,
    ServerName: name,
    SiteCode: 'PS1',
    State: 7,
    StateName: 'CONTENT_UPDATING',
    SourceVersion: 1,
    TargetVersion: 2,
    LastCopied: null,
    SummaryDate: '2026-11-26T00:00:00.000Z',
    BytesTotal: 0,
    BytesDone: 0,
    BytesSent: 0,
    TransferRate: 0,
    Attempts: 1,
    LastError: null,
    WaitReason: null,
    ResumeAt: null,
    ...over,
  };
}

describe('ProgressTracker', () => {
  it('draws a DP from its transfer events, with rate and ETA from successive events', () => {
    let now = 1_000;
    const t = new ProgressTracker('PS100001', () => now);
    t.onEvent({
      operation: 'transfer',
      packageId: 'PS100001',
      target: 'DP01',
      bytesDone: 0,
      bytesTotal: 4 << 20,
    });
    now += 1_000;
    t.onEvent({
      operation: 'transfer',
      packageId: 'PS100001',
      target: 'DP01',
      bytesDone: 1 << 20,
      bytesTotal: 4 << 20,
    });
    const [bar] = t.bars([row('DP01', { BytesDone: 0, BytesTotal: 4 << 20 })]);
    expect(bar).toMatchObject({
      label: 'DP01',
      done: 1 << 20,
      total: 4 << 20,
      complete: false,
      state: 'CONTENT_UPDATING',
    });
    expect(bar!.rate).toBe(1 << 20);
    expect(bar!.etaMs).toBe(3_000);
    expect(describeBar(bar!)).toBe(
      'DP01         25%  1.00 MiB / 4.00 MiB  1.00 MiB/s  ETA 0:03  CONTENT_UPDATING',
    );
  });

  it('falls back to the status rows when no events reach this process (a server does the work)', () => {
    let now = 0;
    const t = new ProgressTracker('PS100001', () => now);
    t.bars([row('DP02', { BytesDone: 0, BytesTotal: 1000 })]);
    now = 2_000;
    const [bar] = t.bars([row('DP02', { BytesDone: 500, BytesTotal: 1000 })]);
    expect(bar).toMatchObject({ done: 500, total: 1000, rate: 250, etaMs: 2_000 });
  });

  it('shows an installed DP as a full bar even when nothing had to be sent, and ignores other packages', () => {
    const t = new ProgressTracker('PS100001');
    t.onEvent({ operation: 'transfer', packageId: 'PS100002', target: 'DP01', bytesDone: 5, bytesTotal: 10 });
    t.onEvent({ operation: 'snapshot', packageId: 'PS100001', bytesDone: 10, bytesTotal: 10 });
    const bars = t.bars([row('DP01', { State: 0, StateName: 'INSTALLED', SourceVersion: 2, BytesSent: 0 })]);
    expect(bars.map((b) => [b.label, b.complete, b.done, b.total])).toEqual([
      ['snapshot', true, 10, 10],
      ['DP01', true, 0, 0],
    ]);
  });
});
