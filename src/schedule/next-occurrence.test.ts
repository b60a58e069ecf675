import { describe, expect, it } from 'vitest';
import { SitecastError } from '../kernel/index.js';
import { missedRun, nextOccurrence, nextOfAny, previousOccurrence } from './next-occurrence.js';
import { checkScheduleToken, type ScheduleStartTime, type SMS_ScheduleToken } from './schedule-token.js';
import { wallTimeAt } from './zoned-time.js';

const berlin = 'Europe/Berlin';
const newYork = 'America/New_York';
const utc = (iso: string): number => Date.parse(iso.endsWith('Z') ? iso : `${iso}Z`);
const iso = (ms: number | null): string | null =>
  ms === null ? null : new Date(ms).toISOString().slice(0, 16);

function start(s: string): ScheduleStartTime {
  const [, y, mo, d, h, mi] = /^(\d+)-(\d+)-(\d+)T(\d+):(\d+)$/.exec(s)!;
  return { Year: +y!, Month: +mo!, Day: +d!, Hour: +h!, Minute: +mi! };
}

function token(kind: number, at: string, fields: Record<string, number | boolean> = {}): SMS_ScheduleToken {
  return checkScheduleToken({
    Kind: kind,
    StartTime: start(at),
    IsGMT: false,
    DayDuration: 0,
    HourDuration: 0,
    MinuteDuration: 0,
    ...fields,
  });
}
const daily = (at: string, gmt = false): SMS_ScheduleToken =>
  token(2, at, { DaySpan: 1, HourSpan: 0, MinuteSpan: 0, IsGMT: gmt });

/** The next `n` runs after `from` (UTC minutes as ISO strings). */
function runs(t: SMS_ScheduleToken, from: string, n: number, tz: string): (string | null)[] {
  const out: (string | null)[] = [];
  let after = utc(from);
  for (let i = 0; i < n; i++) {
    const next = nextOccurrence(t, after, tz);
    out.push(iso(next));
    if (next === null) break;
    after = next;
  }
  return out;
}

describe('nextOccurrence across the 2026 DST changes', () => {
  it('Berlin spring forward: 02:30 daily runs at 03:00 CEST on 29 March, then 02:30 again', () => {
    const t = daily('2026-03-01T02:30');
    expect(runs(t, '2026-03-28T01:30', 3, berlin)).toEqual([
      '2026-03-29T01:00', // 03:00 CEST, the first instant after the gap
      '2026-03-30T00:30', // 02:30 CEST
      '2026-03-31T00:30',
    ]);
    expect(iso(previousOccurrence(t, utc('2026-03-29T00:59'), berlin))).toBe('2026-03-28T01:30');
    expect(iso(previousOccurrence(t, utc('2026-03-29T01:00'), berlin))).toBe('2026-03-29T01:00');
  });

  it('Berlin fall back: 02:30 daily runs once on 25 October, at the first (CEST) 02:30', () => {
    const t = daily('2026-03-01T02:30');
    expect(runs(t, '2026-10-24T23:00', 2, berlin)).toEqual(['2026-10-25T00:30', '2026-10-26T01:30']);
  });

  it('New York: a Sunday 02:15 weekly run moves to 03:00 EDT on 8 March; 01:30 runs once on 1 November', () => {
    const weekly = token(3, '2026-01-04T02:15', { Day: 1, ForNumberOfWeeks: 1 });
    expect(runs(weekly, '2026-03-01T07:15', 2, newYork)).toEqual(['2026-03-08T07:00', '2026-03-15T06:15']);
    expect(runs(daily('2026-01-01T01:30'), '2026-10-31T05:00', 3, newYork)).toEqual([
      '2026-10-31T05:30',
      '2026-11-01T05:30', // 01:30 EDT, not again at 01:30 EST an hour later
      '2026-11-02T06:30',
    ]);
    const secondSunday = token(4, '2026-01-01T02:30', { Day: 1, ForNumberOfMonths: 1, WeekOrder: 2 });
    expect(runs(secondSunday, '2026-02-15T00:00', 2, newYork)).toEqual([
      '2026-03-08T07:00',
      '2026-04-12T06:30',
    ]);
  });

  it('day spans keep the wall-clock time; hour spans are elapsed time', () => {
    const weekly = token(2, '2026-03-15T02:00', { DaySpan: 7, HourSpan: 0, MinuteSpan: 0 });
    expect(runs(weekly, '2026-03-01T00:00', 4, berlin)).toEqual([
      '2026-03-15T01:00',
      '2026-03-22T01:00',
      '2026-03-29T01:00', // 02:00 does not exist that day: 03:00 CEST
      '2026-04-05T00:00', // 02:00 CEST
    ]);
    const sixHours = token(2, '2026-03-28T00:00', { DaySpan: 0, HourSpan: 6, MinuteSpan: 0 });
    const slots = runs(sixHours, '2026-03-27T00:00', 6, berlin);
    expect(slots).toEqual([
      '2026-03-27T23:00',
      '2026-03-28T05:00',
      '2026-03-28T11:00',
      '2026-03-28T17:00',
      '2026-03-28T23:00',
      '2026-03-29T05:00',
    ]);
    expect(wallTimeAt(utc(slots[5]!), berlin)).toMatchObject({ day: 29, hour: 7, minute: 0 });
  });

  it('IsGMT tokens run on UTC whatever the site zone', () => {
    expect(runs(daily('2026-03-28T02:30', true), '2026-03-28T03:00', 1, berlin)).toEqual([
      '2026-03-29T02:30',
    ]);
    expect(runs(daily('2026-03-28T02:30', true), '2026-03-28T03:00', 1, newYork)).toEqual([
      '2026-03-29T02:30',
    ]);
  });
});

describe('nextOccurrence: months, weeks, leap years', () => {
  it('MonthDay 31 skips the months without a 31st; MonthDay 0 is the last day', () => {
    const the31st = token(5, '2026-01-31T10:00', { MonthDay: 31, ForNumberOfMonths: 1, IsGMT: true });
    expect(runs(the31st, '2026-01-01T00:00', 5, berlin)).toEqual([
      '2026-01-31T10:00',
      '2026-03-31T10:00',
      '2026-05-31T10:00',
      '2026-07-31T10:00',
      '2026-08-31T10:00',
    ]);
    const last = token(5, '2028-01-31T10:00', { MonthDay: 0, ForNumberOfMonths: 1, IsGMT: true });
    expect(runs(last, '2028-01-01T00:00', 4, berlin)).toEqual([
      '2028-01-31T10:00',
      '2028-02-29T10:00',
      '2028-03-31T10:00',
      '2028-04-30T10:00',
    ]);
  });

  it('Feb 29: yearly runs only in leap years; daily runs go through it', () => {
    const leap = token(5, '2027-02-01T12:00', { MonthDay: 29, ForNumberOfMonths: 12, IsGMT: true });
    expect(runs(leap, '2027-01-01T00:00', 2, berlin)).toEqual(['2028-02-29T12:00', '2032-02-29T12:00']);
    expect(runs(daily('2028-02-27T12:00', true), '2028-02-27T12:00', 3, berlin)).toEqual([
      '2028-02-28T12:00',
      '2028-02-29T12:00',
      '2028-03-01T12:00',
    ]);
  });

  it('last and nth weekday of the month', () => {
    const lastTuesday = token(4, '2026-01-01T09:00', { Day: 3, ForNumberOfMonths: 1, WeekOrder: 0 });
    expect(runs(lastTuesday, '2026-01-01T00:00', 4, berlin)).toEqual([
      '2026-01-27T08:00',
      '2026-02-24T08:00',
      '2026-03-31T07:00',
      '2026-04-28T07:00',
    ]);
    const firstMonday = token(4, '2026-05-05T09:00', {
      Day: 2,
      ForNumberOfMonths: 1,
      WeekOrder: 1,
      IsGMT: true,
    });
    expect(runs(firstMonday, '2026-05-01T00:00', 1, berlin)).toEqual(['2026-06-01T09:00']);
    const fourthFriday = token(4, '2026-01-01T09:00', {
      Day: 6,
      ForNumberOfMonths: 1,
      WeekOrder: 4,
      IsGMT: true,
    });
    expect(runs(fourthFriday, '2026-01-01T00:00', 1, berlin)).toEqual(['2026-01-23T09:00']);
  });

  it('counts every N months from the start month and every N weeks from the start week', () => {
    // Started the day after January's last Tuesday: January is skipped, and the cycle stays Jan/Apr/Jul.
    const quarterly = token(4, '2026-01-28T09:00', {
      Day: 3,
      ForNumberOfMonths: 3,
      WeekOrder: 0,
      IsGMT: true,
    });
    expect(runs(quarterly, '2026-01-01T00:00', 2, berlin)).toEqual(['2026-04-28T09:00', '2026-07-28T09:00']);
    // Thursday 1 Jan 2026 is in the week of Sunday 28 Dec: Tuesdays of weeks 0, 2, 4… from then on.
    const fortnightlyTue = token(3, '2026-01-01T08:00', { Day: 3, ForNumberOfWeeks: 2, IsGMT: true });
    expect(runs(fortnightlyTue, '2025-12-01T00:00', 3, berlin)).toEqual([
      '2026-01-13T08:00',
      '2026-01-27T08:00',
      '2026-02-10T08:00',
    ]);
    const fortnightlyFri = token(3, '2026-01-01T08:00', { Day: 6, ForNumberOfWeeks: 2, IsGMT: true });
    expect(runs(fortnightlyFri, '2025-12-01T00:00', 2, berlin)).toEqual([
      '2026-01-02T08:00',
      '2026-01-16T08:00',
    ]);
    // The start itself counts when it falls on the day.
    const thursdays = token(3, '2026-01-01T08:00', { Day: 5, ForNumberOfWeeks: 1, IsGMT: true });
    expect(runs(thursdays, '2025-12-31T00:00', 2, berlin)).toEqual(['2026-01-01T08:00', '2026-01-08T08:00']);
  });

  it('a non-recurring token runs once, strictly after `afterMs`', () => {
    const once = token(1, '2026-07-19T08:30');
    expect(iso(nextOccurrence(once, utc('2026-01-01T00:00'), berlin))).toBe('2026-07-19T06:30');
    expect(nextOccurrence(once, utc('2026-07-19T06:30'), berlin)).toBeNull();
    expect(previousOccurrence(once, utc('2026-07-19T06:29'), berlin)).toBeNull();
    expect(iso(previousOccurrence(once, utc('2027-01-01T00:00'), berlin))).toBe('2026-07-19T06:30');
  });

  it('rejects an unknown time zone and an invalid token', () => {
    expect(() => nextOccurrence(daily('2026-01-01T00:00'), 0, 'Mars/Olympus')).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMETER', details: { field: 'timeZone' } }),
    );
    expect(() => nextOccurrence(daily('2026-01-01T00:00'), NaN, berlin)).toThrow(
      /afterMs NaN is not an instant/,
    );
    const bad = { ...daily('2026-01-01T00:00'), DaySpan: 0 } as SMS_ScheduleToken;
    expect(() => nextOccurrence(bad, 0, berlin)).toThrow(SitecastError);
  });
});

describe('nextOfAny and missedRun', () => {
  const at2 = daily('2026-01-01T02:00', true);
  const fridays = token(3, '2026-01-01T23:00', { Day: 6, ForNumberOfWeeks: 1, IsGMT: true });
  const tenth = token(5, '2026-01-01T06:00', { MonthDay: 10, ForNumberOfMonths: 1 });

  it('nextOfAny is the earliest next run; null when none runs again', () => {
    expect(iso(nextOfAny([fridays, at2, tenth], utc('2026-01-09T03:00'), berlin))).toBe('2026-01-09T23:00');
    expect(iso(nextOfAny([fridays, at2, tenth], utc('2026-01-10T00:00'), berlin))).toBe('2026-01-10T02:00');
    expect(nextOfAny([token(1, '2026-01-01T00:00')], utc('2026-06-01T00:00'), berlin)).toBeNull();
    expect(nextOfAny([], 0, berlin)).toBeNull();
  });

  it('a server down for nine days runs once: the latest missed slot', () => {
    const last = utc('2026-01-01T02:00');
    expect(iso(missedRun([at2], last, utc('2026-01-10T12:00'), berlin))).toBe('2026-01-10T02:00');
    expect(iso(missedRun([at2], last, utc('2026-01-10T02:00'), berlin))).toBe('2026-01-10T02:00');
    expect(missedRun([at2], utc('2026-01-10T02:00'), utc('2026-01-10T12:00'), berlin)).toBeNull();
    // 06:00 Berlin on the 10th (05:00Z) is later than the other tokens' last slots.
    expect(iso(missedRun([fridays, at2, tenth], last, utc('2026-01-10T12:00'), berlin))).toBe(
      '2026-01-10T05:00',
    );
    expect(iso(missedRun([fridays, at2, tenth], last, utc('2026-01-10T04:00'), berlin))).toBe(
      '2026-01-10T02:00',
    );
  });

  it('missed one-off and minute schedules; nothing before the start', () => {
    const once = token(1, '2026-01-05T12:00', { IsGMT: true });
    expect(iso(missedRun([once], utc('2026-01-01T00:00'), utc('2026-02-01T00:00'), berlin))).toBe(
      '2026-01-05T12:00',
    );
    expect(missedRun([once], utc('2026-01-05T12:00'), utc('2026-02-01T00:00'), berlin)).toBeNull();
    const quarterHour = token(2, '2025-01-01T00:05', {
      DaySpan: 0,
      HourSpan: 0,
      MinuteSpan: 15,
      IsGMT: true,
    });
    expect(iso(missedRun([quarterHour], utc('2025-01-01T00:00'), utc('2026-01-10T12:07'), berlin))).toBe(
      '2026-01-10T12:05',
    );
    expect(missedRun([quarterHour], 0, utc('2025-01-01T00:04'), berlin)).toBeNull();
  });
});
