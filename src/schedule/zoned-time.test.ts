import { describe, expect, it } from 'vitest';
import { checkTimeZone, instantOf, offsetAt, wallTimeAt } from './zoned-time.js';

const at = (year: number, month: number, day: number, hour: number, minute: number) => ({
  year,
  month,
  day,
  hour,
  minute,
});
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16);

describe('wall clock ↔ instant', () => {
  it('plain times, both ways, in Berlin and New York', () => {
    expect(iso(instantOf(at(2026, 7, 19, 8, 30), 'Europe/Berlin'))).toBe('2026-07-19T06:30');
    expect(iso(instantOf(at(2026, 1, 19, 8, 30), 'America/New_York'))).toBe('2026-01-19T13:30');
    expect(wallTimeAt(Date.UTC(2026, 0, 19, 13, 30), 'America/New_York')).toEqual(at(2026, 1, 19, 8, 30));
    expect(offsetAt(Date.UTC(2026, 6, 1), 'Europe/Berlin')).toBe(2 * 3_600_000);
  });

  it('a wall time in a spring-forward gap is the first instant after the gap', () => {
    for (const minute of [0, 1, 30, 59])
      expect(iso(instantOf(at(2026, 3, 29, 2, minute), 'Europe/Berlin'))).toBe('2026-03-29T01:00');
    expect(iso(instantOf(at(2026, 3, 29, 3, 0), 'Europe/Berlin'))).toBe('2026-03-29T01:00');
    expect(iso(instantOf(at(2026, 3, 29, 1, 59), 'Europe/Berlin'))).toBe('2026-03-29T00:59');
    // Lord Howe moves by 30 minutes; Santiago skips midnight.
    expect(iso(instantOf(at(2026, 10, 4, 2, 15), 'Australia/Lord_Howe'))).toBe('2026-10-03T15:30');
    expect(iso(instantOf(at(2026, 9, 6, 0, 30), 'America/Santiago'))).toBe('2026-09-06T04:00');
  });

  it('an ambiguous fall-back wall time is its first instance', () => {
    expect(iso(instantOf(at(2026, 10, 25, 2, 30), 'Europe/Berlin'))).toBe('2026-10-25T00:30');
    expect(iso(instantOf(at(2026, 11, 1, 1, 0), 'America/New_York'))).toBe('2026-11-01T05:00');
    expect(iso(instantOf(at(2026, 4, 5, 1, 45), 'Australia/Lord_Howe'))).toBe('2026-04-04T14:45');
  });

  it('refuses a zone Intl does not know, naming the field', () => {
    expect(checkTimeZone('Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(() => checkTimeZone('Europe/Atlantis')).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMETER', details: { field: 'timeZone' } }),
    );
  });
});
