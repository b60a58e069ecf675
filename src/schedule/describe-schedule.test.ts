import { describe, expect, it } from 'vitest';
import { describeSchedule } from './describe-schedule.js';
import { readScheduleString } from './schedule-codec.js';
import { checkScheduleToken } from './schedule-token.js';

const base = {
  StartTime: { Year: 2026, Month: 1, Day: 1, Hour: 9, Minute: 0 },
  IsGMT: false,
  DayDuration: 0,
  HourDuration: 0,
  MinuteDuration: 0,
};
const text = (fields: Record<string, unknown>): string =>
  describeSchedule(checkScheduleToken({ ...base, ...fields }));

describe('describeSchedule', () => {
  it('reads the worked examples as the console does', () => {
    const [once, weekly, interval] = readScheduleString(
      '7913788000080000' + '55147880001B2000' + '0001200000100038',
    );
    expect(describeSchedule(once!)).toBe('Occurs on 7/19/2004 8:30 AM');
    expect(describeSchedule(weekly!)).toBe('Occurs on Tuesday every 1 weeks effective 7/20/2004 8:21 AM');
    expect(describeSchedule(interval!)).toBe('Occurs every 7 days effective 2/1/1970 12:00 AM');
  });

  it('names the monthly forms, UTC and the duration', () => {
    expect(text({ Kind: 4, Day: 3, ForNumberOfMonths: 1, WeekOrder: 0 })).toBe(
      'Occurs on the last Tuesday of every 1 months effective 1/1/2026 9:00 AM',
    );
    expect(text({ Kind: 4, Day: 1, ForNumberOfMonths: 3, WeekOrder: 2 })).toBe(
      'Occurs on the second Sunday of every 3 months effective 1/1/2026 9:00 AM',
    );
    expect(text({ Kind: 5, MonthDay: 0, ForNumberOfMonths: 3 })).toBe(
      'Occurs on the last day of every 3 months effective 1/1/2026 9:00 AM',
    );
    expect(text({ Kind: 5, MonthDay: 15, ForNumberOfMonths: 1, IsGMT: true })).toBe(
      'Occurs on day 15 of every 1 months effective 1/1/2026 9:00 AM UTC',
    );
    expect(
      text({
        Kind: 2,
        DaySpan: 1,
        HourSpan: 2,
        MinuteSpan: 30,
        HourDuration: 1,
        MinuteDuration: 30,
        StartTime: { ...base.StartTime, Hour: 12, Minute: 5 },
      }),
    ).toBe('Occurs every 1 days 2 hours 30 minutes effective 1/1/2026 12:05 PM for 1 hour 30 minutes');
    expect(text({ Kind: 1, DayDuration: 2, StartTime: { ...base.StartTime, Hour: 23, Minute: 59 } })).toBe(
      'Occurs on 1/1/2026 11:59 PM for 2 days',
    );
  });
});
