/**
 * SMS_ScheduleToken as typed values (reference §5): one interface per SMS_ST_* class, discriminated by
 * `Kind` (1-5, the kind field of the string form), with the SDK's PascalCase property names because these
 * objects are what the REST face returns. StartTime is wall-clock fields, not an epoch: the string form
 * stores fields, and a local-time token means "08:30 wherever the site is", whatever the UTC offset.
 */
import { SitecastError } from '../kernel/index.js';
import { daysInMonth } from './civil-date.js';

/** The SMS_ST_* class of each kind code. */
export const ScheduleKind = {
  SMS_ST_NonRecurring: 1,
  SMS_ST_RecurInterval: 2,
  SMS_ST_RecurWeekly: 3,
  SMS_ST_RecurMonthlyByWeekday: 4,
  SMS_ST_RecurMonthlyByDate: 5,
} as const;
export type ScheduleClassName = keyof typeof ScheduleKind;
export type ScheduleKindCode = (typeof ScheduleKind)[ScheduleClassName];

/** A wall-clock start (local to the site unless the token IsGMT). Year 1970-2033: 6 bits in the string. */
export interface ScheduleStartTime {
  readonly Year: number;
  /** 1-12. */
  readonly Month: number;
  /** 1-31, a day that exists in that month. */
  readonly Day: number;
  /** 0-23. */
  readonly Hour: number;
  /** 0-59. */
  readonly Minute: number;
}

interface ScheduleTokenCommon {
  readonly StartTime: ScheduleStartTime;
  /** True: StartTime and every occurrence are UTC; false: wall-clock in the site's time zone. */
  readonly IsGMT: boolean;
  /** How long each occurrence lasts (a window, e.g. for maintenance): 0-31 days … */
  readonly DayDuration: number;
  /** … 0-23 hours … */
  readonly HourDuration: number;
  /** … 0-59 minutes. All zero: an instant. */
  readonly MinuteDuration: number;
}

export interface SMS_ST_NonRecurring extends ScheduleTokenCommon {
  readonly Kind: 1;
}

/** Every DaySpan days + HourSpan hours + MinuteSpan minutes from StartTime (not all zero). */
export interface SMS_ST_RecurInterval extends ScheduleTokenCommon {
  readonly Kind: 2;
  /** 0-31. */
  readonly DaySpan: number;
  /** 0-23. */
  readonly HourSpan: number;
  /** 0-59. */
  readonly MinuteSpan: number;
}

export interface SMS_ST_RecurWeekly extends ScheduleTokenCommon {
  readonly Kind: 3;
  /** 1-7: Sunday … Saturday. */
  readonly Day: number;
  /** Every 1-4 weeks. */
  readonly ForNumberOfWeeks: number;
}

export interface SMS_ST_RecurMonthlyByWeekday extends ScheduleTokenCommon {
  readonly Kind: 4;
  /** 1-7: Sunday … Saturday. */
  readonly Day: number;
  /** Every 1-12 months. */
  readonly ForNumberOfMonths: number;
  /** 1-4: first … fourth such weekday of the month; 0: the last. */
  readonly WeekOrder: number;
}

export interface SMS_ST_RecurMonthlyByDate extends ScheduleTokenCommon {
  readonly Kind: 5;
  /** 1-31, or 0 for the last day of the month. */
  readonly MonthDay: number;
  /** Every 1-12 months. */
  readonly ForNumberOfMonths: number;
}

export type SMS_ScheduleToken =
  | SMS_ST_NonRecurring
  | SMS_ST_RecurInterval
  | SMS_ST_RecurWeekly
  | SMS_ST_RecurMonthlyByWeekday
  | SMS_ST_RecurMonthlyByDate;

/** Day 1-7 → name. */
export const WeekdayNames = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
] as const;

const monthNames = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

/** The SMS_ST_* class name of a token. */
export function scheduleClassName(token: Pick<SMS_ScheduleToken, 'Kind'>): ScheduleClassName {
  const entry = Object.entries(ScheduleKind).find(([, code]) => code === token.Kind);
  if (!entry)
    throw new SitecastError('INVALID_PARAMETER', `Kind ${token.Kind} is not 1-5`, { field: 'Kind' });
  return entry[0] as ScheduleClassName;
}

/** StartTime as ISO 8601 (`2004-07-19T08:30:00`, with `Z` when IsGMT): the REST face's DateTime form. */
export function startTimeIso(token: Pick<SMS_ScheduleToken, 'StartTime' | 'IsGMT'>): string {
  const s = token.StartTime;
  const p = (n: number): string => String(n).padStart(2, '0');
  const date = `${String(s.Year).padStart(4, '0')}-${p(s.Month)}-${p(s.Day)}`;
  return `${date}T${p(s.Hour)}:${p(s.Minute)}:00${token.IsGMT ? 'Z' : ''}`;
}

/** Where a token sits in a list (error messages and `details.tokenIndex` name it). */
export interface TokenPosition {
  /** 0-based index of the token in its schedule string or list. */
  readonly index?: number;
}

/**
 * Checks every field of a token (from a decoded string, a REST body or code) and returns a frozen copy with
 * only the properties of its kind. Throws INVALID_PARAMETER naming the field and the bad value.
 */
export function checkScheduleToken(value: unknown, position: TokenPosition = {}): SMS_ScheduleToken {
  const at = position.index === undefined ? '' : `schedule token ${position.index}: `;
  const fail = (field: string, message: string): never => {
    throw new SitecastError('INVALID_PARAMETER', `${at}${message}`, {
      field,
      ...(position.index !== undefined && { tokenIndex: position.index }),
    });
  };
  const record = (v: unknown, field: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return fail(field, `${field} must be an object, not ${show(v)}`);
    return v as Record<string, unknown>;
  };
  const int = (obj: Record<string, unknown>, name: string, min: number, max: number, path = name): number => {
    const v = obj[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      return fail(path, `${path} ${show(v)} is out of range (${min}-${max})`);
    return v;
  };

  const t = record(value, 'token');
  const kind = int(t, 'Kind', 1, 5) as ScheduleKindCode;
  const st = record(t.StartTime, 'StartTime');
  const year = int(st, 'Year', 1970, 2033, 'StartTime.Year');
  const month = int(st, 'Month', 1, 12, 'StartTime.Month');
  const day = int(st, 'Day', 1, 31, 'StartTime.Day');
  if (day > daysInMonth(year, month))
    fail('StartTime.Day', `StartTime.Day ${day} does not exist in ${monthNames[month - 1]} ${year}`);
  const StartTime: ScheduleStartTime = Object.freeze({
    Year: year,
    Month: month,
    Day: day,
    Hour: int(st, 'Hour', 0, 23, 'StartTime.Hour'),
    Minute: int(st, 'Minute', 0, 59, 'StartTime.Minute'),
  });
  if (typeof t.IsGMT !== 'boolean') fail('IsGMT', `IsGMT must be true or false, not ${show(t.IsGMT)}`);
  const common = {
    StartTime,
    IsGMT: t.IsGMT as boolean,
    DayDuration: int(t, 'DayDuration', 0, 31),
    HourDuration: int(t, 'HourDuration', 0, 23),
    MinuteDuration: int(t, 'MinuteDuration', 0, 59),
  };

  switch (kind) {
    case 1:
      return Object.freeze({ Kind: 1, ...common });
    case 2: {
      const DaySpan = int(t, 'DaySpan', 0, 31);
      const HourSpan = int(t, 'HourSpan', 0, 23);
      const MinuteSpan = int(t, 'MinuteSpan', 0, 59);
      if (DaySpan + HourSpan + MinuteSpan === 0)
        fail('DaySpan', 'SMS_ST_RecurInterval needs a non-zero DaySpan, HourSpan or MinuteSpan (all are 0)');
      return Object.freeze({ Kind: 2, ...common, DaySpan, HourSpan, MinuteSpan });
    }
    case 3:
      return Object.freeze({
        Kind: 3,
        ...common,
        Day: int(t, 'Day', 1, 7),
        ForNumberOfWeeks: int(t, 'ForNumberOfWeeks', 1, 4),
      });
    case 4:
      return Object.freeze({
        Kind: 4,
        ...common,
        Day: int(t, 'Day', 1, 7),
        ForNumberOfMonths: int(t, 'ForNumberOfMonths', 1, 12),
        WeekOrder: int(t, 'WeekOrder', 0, 4),
      });
    case 5: {
      const MonthDay = int(t, 'MonthDay', 0, 31);
      const ForNumberOfMonths = int(t, 'ForNumberOfMonths', 1, 12);
      // A day that none of the months it runs in has would make a schedule that never runs.
      const months = runMonths(month, ForNumberOfMonths);
      const longest = Math.max(...months.map((m) => daysInMonth(2000, m)));
      if (MonthDay > longest)
        fail(
          'MonthDay',
          `MonthDay ${MonthDay} never occurs: every ${ForNumberOfMonths} months from ` +
            `${monthNames[month - 1]} runs only in ${months.map((m) => monthNames[m - 1]).join(', ')}`,
        );
      return Object.freeze({ Kind: 5, ...common, MonthDay, ForNumberOfMonths });
    }
  }
}

/** The calendar months (1-12) that "every `every` months from `startMonth`" ever lands on. */
function runMonths(startMonth: number, every: number): number[] {
  const set = new Set<number>();
  for (let k = 0; k < 12; k++) set.add(((startMonth - 1 + k * every) % 12) + 1);
  return [...set].sort((a, b) => a - b);
}

function show(v: unknown): string {
  if (v === undefined) return '(missing)';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeof v === 'function' || typeof v === 'symbol' ? typeof v : JSON.stringify(v);
}
