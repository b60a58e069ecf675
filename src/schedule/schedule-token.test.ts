import { describe, expect, it } from 'vitest';
import { SitecastError } from '../kernel/index.js';
import { checkScheduleToken, scheduleClassName, startTimeIso } from './schedule-token.js';

const weekly = {
  Kind: 3,
  StartTime: { Year: 2026, Month: 3, Day: 29, Hour: 2, Minute: 30 },
  IsGMT: false,
  DayDuration: 0,
  HourDuration: 2,
  MinuteDuration: 0,
  Day: 1,
  ForNumberOfWeeks: 2,
};

function rejected(value: unknown): SitecastError {
  try {
    checkScheduleToken(value);
  } catch (e) {
    expect(e).toBeInstanceOf(SitecastError);
    expect((e as SitecastError).code).toBe('INVALID_PARAMETER');
    return e as SitecastError;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

const withStart = (start: Partial<typeof weekly.StartTime>): Record<string, unknown> => ({
  ...weekly,
  StartTime: { ...weekly.StartTime, ...start },
});

describe('checkScheduleToken', () => {
  it('returns a frozen copy holding only the properties of its kind', () => {
    const t = checkScheduleToken({ ...weekly, MonthDay: 4, Extra: 'x' });
    expect(t).toEqual(weekly);
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen(t.StartTime)).toBe(true);
    expect(scheduleClassName(t)).toBe('SMS_ST_RecurWeekly');
    expect(startTimeIso(t)).toBe('2026-03-29T02:30:00');
    expect(startTimeIso({ ...t, IsGMT: true })).toBe('2026-03-29T02:30:00Z');
  });

  it.each([
    [{ ...weekly, Kind: 6 }, 'Kind', 'Kind 6'],
    [{ ...weekly, Kind: '3' }, 'Kind', 'Kind "3"'],
    [withStart({ Year: 1969 }), 'StartTime.Year', 'StartTime.Year 1969'],
    [withStart({ Year: 2034 }), 'StartTime.Year', 'StartTime.Year 2034'],
    [withStart({ Month: 13 }), 'StartTime.Month', 'StartTime.Month 13'],
    [withStart({ Day: 0 }), 'StartTime.Day', 'StartTime.Day 0'],
    [withStart({ Month: 2, Day: 30 }), 'StartTime.Day', 'StartTime.Day 30 does not exist in February 2026'],
    [withStart({ Year: 2027, Month: 2, Day: 29 }), 'StartTime.Day', 'does not exist in February 2027'],
    [withStart({ Month: 4, Day: 31 }), 'StartTime.Day', 'does not exist in April'],
    [withStart({ Hour: 24 }), 'StartTime.Hour', 'StartTime.Hour 24'],
    [withStart({ Minute: 60 }), 'StartTime.Minute', 'StartTime.Minute 60'],
    [withStart({ Minute: 1.5 }), 'StartTime.Minute', 'StartTime.Minute 1.5'],
    [{ ...weekly, StartTime: '2026-03-29T02:30' }, 'StartTime', 'StartTime must be an object'],
    [{ ...weekly, IsGMT: 1 }, 'IsGMT', 'IsGMT must be true or false, not 1'],
    [{ ...weekly, DayDuration: 32 }, 'DayDuration', 'DayDuration 32'],
    [{ ...weekly, HourDuration: -1 }, 'HourDuration', 'HourDuration -1'],
    [{ ...weekly, MinuteDuration: 60 }, 'MinuteDuration', 'MinuteDuration 60'],
    [{ ...weekly, Day: 0 }, 'Day', 'Day 0 is out of range (1-7)'],
    [{ ...weekly, Day: 8 }, 'Day', 'Day 8'],
    [{ ...weekly, ForNumberOfWeeks: 5 }, 'ForNumberOfWeeks', 'ForNumberOfWeeks 5'],
    [{ ...weekly, ForNumberOfWeeks: undefined }, 'ForNumberOfWeeks', 'ForNumberOfWeeks (missing)'],
    [{ ...weekly, Kind: 2, DaySpan: 32, HourSpan: 0, MinuteSpan: 0 }, 'DaySpan', 'DaySpan 32'],
    [{ ...weekly, Kind: 2, DaySpan: 0, HourSpan: 24, MinuteSpan: 0 }, 'HourSpan', 'HourSpan 24'],
    [{ ...weekly, Kind: 2, DaySpan: 0, HourSpan: 0, MinuteSpan: 60 }, 'MinuteSpan', 'MinuteSpan 60'],
    [{ ...weekly, Kind: 2, DaySpan: 0, HourSpan: 0, MinuteSpan: 0 }, 'DaySpan', 'all are 0'],
    [
      { ...weekly, Kind: 4, ForNumberOfMonths: 13, WeekOrder: 1 },
      'ForNumberOfMonths',
      'ForNumberOfMonths 13',
    ],
    [{ ...weekly, Kind: 4, ForNumberOfMonths: 1, WeekOrder: 5 }, 'WeekOrder', 'WeekOrder 5'],
    [{ ...weekly, Kind: 5, MonthDay: 32, ForNumberOfMonths: 1 }, 'MonthDay', 'MonthDay 32'],
    [{ ...weekly, Kind: 5, MonthDay: 1, ForNumberOfMonths: 0 }, 'ForNumberOfMonths', 'ForNumberOfMonths 0'],
    [
      { ...withStart({ Month: 4, Day: 1 }), Kind: 5, MonthDay: 31, ForNumberOfMonths: 12 },
      'MonthDay',
      'MonthDay 31 never occurs: every 12 months from April runs only in April',
    ],
    [
      { ...withStart({ Month: 2, Day: 1 }), Kind: 5, MonthDay: 30, ForNumberOfMonths: 12 },
      'MonthDay',
      'MonthDay 30 never occurs',
    ],
  ])('rejects %j naming %s', (value, field, message) => {
    const e = rejected(value);
    expect(e.details.field).toBe(field);
    expect(e.message).toContain(message);
    expect(e.hex).toBe('0x80041008');
  });

  it('accepts the edges of every range', () => {
    expect(
      checkScheduleToken(withStart({ Year: 2028, Month: 2, Day: 29, Hour: 23, Minute: 59 })),
    ).toBeTruthy();
    expect(checkScheduleToken(withStart({ Year: 1970, Month: 1, Day: 1, Hour: 0, Minute: 0 }))).toBeTruthy();
    const monthly = { ...weekly, Kind: 5, MonthDay: 29, ForNumberOfMonths: 12 };
    // Feb 29 every 12 months: only in leap years, but it does run.
    expect(
      checkScheduleToken({ ...monthly, StartTime: { ...weekly.StartTime, Month: 2, Day: 1 } }),
    ).toMatchObject({
      MonthDay: 29,
    });
    // MonthDay 31 every 2 months from April lands on June, August…: August has one.
    expect(
      checkScheduleToken({
        ...monthly,
        MonthDay: 31,
        ForNumberOfMonths: 2,
        StartTime: { ...weekly.StartTime, Month: 4 },
      }),
    ).toMatchObject({ MonthDay: 31 });
  });

  it('names the token index when given one', () => {
    try {
      checkScheduleToken({ ...weekly, Day: 9 }, { index: 2 });
      expect.unreachable();
    } catch (e) {
      expect((e as SitecastError).message).toBe('schedule token 2: Day 9 is out of range (1-7)');
      expect((e as SitecastError).details).toEqual({ field: 'Day', tokenIndex: 2 });
    }
  });
});
