import { describe, expect, it } from 'vitest';
import { codeOf } from '../../test/support/assertions.js';
import {
  Availability,
  allows,
  alwaysOpen,
  formatAvailability,
  levelAt,
  nextClosing,
  nextOpening,
  parseAvailability,
  withHours,
} from './availability.js';

const MON_TO_FRI = [1, 2, 3, 4, 5];
/** Closed to normal and low priority in office hours, high only allowed; weekends open. */
const office = withHours(alwaysOpen, MON_TO_FRI, 8, 18, Availability.HighOnly);

describe('DP availability matrix', () => {
  it('lets each level through the priorities Configuration Manager does', () => {
    expect([1, 2, 3].map((p) => allows(Availability.All, p))).toEqual([true, true, true]);
    expect([1, 2, 3].map((p) => allows(Availability.MediumAndHigh, p))).toEqual([true, true, false]);
    expect([1, 2, 3].map((p) => allows(Availability.HighOnly, p))).toEqual([true, false, false]);
    expect([1, 2, 3].map((p) => allows(Availability.Closed, p))).toEqual([false, false, false]);
  });

  it('round-trips the 168-digit form and names the day and hour of a bad digit', async () => {
    expect(parseAvailability(formatAvailability(office))).toEqual(office);
    const text = formatAvailability(office).replace(/^(.{33})./, '$19');
    expect(() => parseAvailability(text)).toThrow(/Mon 09:00 is "9"/);
    expect(() => parseAvailability('0'.repeat(167))).toThrow(/168 digits/);
    expect(await codeOf(Promise.resolve().then(() => withHours(office, [1], 18, 8, 3)))).toBe(
      'INVALID_PARAMETER',
    );
  });

  it('reads the level in the DP time zone, across the 2026 spring DST change in Berlin', () => {
    // Monday 2026-03-30 07:30 UTC = 09:30 CEST (UTC+2, after the change on the 29th).
    expect(levelAt(office, Date.UTC(2026, 2, 30, 7, 30), 'Europe/Berlin')).toBe(Availability.HighOnly);
    expect(levelAt(office, Date.UTC(2026, 2, 30, 7, 30), 'UTC')).toBe(Availability.All);
    // Monday 2026-03-23 07:30 UTC = 08:30 CET (UTC+1, before the change).
    expect(levelAt(office, Date.UTC(2026, 2, 23, 6, 30), 'Europe/Berlin')).toBe(Availability.All);
  });

  it('finds when a closed window opens and when an open one closes', () => {
    const mon0930 = Date.UTC(2026, 2, 30, 7, 30); // Berlin 09:30 Monday
    expect(nextOpening(office, 1, mon0930, 'Europe/Berlin')).toBe(mon0930); // high priority: open now
    // Normal priority waits until 18:00 Berlin = 16:00 UTC.
    expect(nextOpening(office, 2, mon0930, 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 30, 16, 0));
    const fri1900 = Date.UTC(2026, 3, 3, 17, 0); // Friday 19:00 Berlin
    // Open from Friday 18:00 through the weekend to Monday 08:00 Berlin = 06:00 UTC.
    expect(nextClosing(office, 2, fri1900, 'Europe/Berlin')).toBe(Date.UTC(2026, 3, 6, 6, 0));
    const closed = withHours(alwaysOpen, [0, 1, 2, 3, 4, 5, 6], 0, 24, Availability.Closed);
    expect(nextOpening(closed, 1, mon0930, 'UTC')).toBeNull();
    expect(nextClosing(alwaysOpen, 3, mon0930, 'UTC')).toBeNull();
    // India is UTC+5:30: its local hours start on half hours of UTC.
    const kolkata = withHours(alwaysOpen, [1], 0, 12, Availability.Closed);
    expect(nextOpening(kolkata, 2, Date.UTC(2026, 2, 30, 0, 0), 'Asia/Kolkata')).toBe(
      Date.UTC(2026, 2, 30, 6, 30),
    );
  });

  it('rejects an unknown time zone clearly', () => {
    expect(() => levelAt(office, 0, 'Mars/Olympus')).toThrow(
      /time zone "Mars\/Olympus" is not an IANA time zone/,
    );
  });
});
