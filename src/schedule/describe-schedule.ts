/**
 * One line per token in the words of Convert-CMSchedule and the console ("Occurs every 7 days effective
 * 2/1/1970 12:00 AM"). Counts keep the console's "every 1 weeks" so admins see the text they know.
 */
import { WeekdayNames, type ScheduleStartTime, type SMS_ScheduleToken } from './schedule-token.js';

const ordinals = ['last', 'first', 'second', 'third', 'fourth'] as const;

/** `Occurs on the last Tuesday of every 1 months effective 7/20/2004 8:21 AM for 2 hours`. */
export function describeSchedule(token: SMS_ScheduleToken): string {
  const effective = `effective ${formatConsoleTime(token.StartTime)}${token.IsGMT ? ' UTC' : ''}`;
  const lasting = describeDuration(token);
  const tail = lasting ? ` for ${lasting}` : '';
  switch (token.Kind) {
    case 1:
      return `Occurs on ${formatConsoleTime(token.StartTime)}${token.IsGMT ? ' UTC' : ''}${tail}`;
    case 2:
      return `Occurs every ${describeSpan(token)} ${effective}${tail}`;
    case 3:
      return `Occurs on ${weekday(token.Day)} every ${token.ForNumberOfWeeks} weeks ${effective}${tail}`;
    case 4:
      return (
        `Occurs on the ${ordinals[token.WeekOrder]} ${weekday(token.Day)} of every ` +
        `${token.ForNumberOfMonths} months ${effective}${tail}`
      );
    case 5: {
      const day = token.MonthDay === 0 ? 'the last day' : `day ${token.MonthDay}`;
      return `Occurs on ${day} of every ${token.ForNumberOfMonths} months ${effective}${tail}`;
    }
  }
}

/** `7/19/2004 8:30 AM`, the console's US form. */
export function formatConsoleTime(t: ScheduleStartTime): string {
  const hour12 = t.Hour % 12 === 0 ? 12 : t.Hour % 12;
  const half = t.Hour < 12 ? 'AM' : 'PM';
  return `${t.Month}/${t.Day}/${t.Year} ${hour12}:${String(t.Minute).padStart(2, '0')} ${half}`;
}

function describeSpan(t: { DaySpan: number; HourSpan: number; MinuteSpan: number }): string {
  const parts = [
    t.DaySpan > 0 ? `${t.DaySpan} days` : '',
    t.HourSpan > 0 ? `${t.HourSpan} hours` : '',
    t.MinuteSpan > 0 ? `${t.MinuteSpan} minutes` : '',
  ];
  return parts.filter((p) => p !== '').join(' ');
}

function describeDuration(t: SMS_ScheduleToken): string {
  const unit = (n: number, one: string): string => (n === 0 ? '' : `${n} ${one}${n === 1 ? '' : 's'}`);
  return [unit(t.DayDuration, 'day'), unit(t.HourDuration, 'hour'), unit(t.MinuteDuration, 'minute')]
    .filter((p) => p !== '')
    .join(' ');
}

function weekday(day: number): string {
  return WeekdayNames[day - 1] ?? `day ${day}`;
}
