import type { Command } from 'commander';
import { SitecastError } from '../kernel/index.js';
import {
  checkScheduleToken,
  checkTimeZone,
  instantOf,
  describeSchedule,
  nextOccurrence,
  readScheduleString,
  scheduleClassName,
  systemTimeZone,
  wallTimeAt,
  WeekdayNames,
  writeScheduleString,
  type ScheduleStartTime,
  type SMS_ScheduleToken,
} from '../schedule/index.js';
import type { Act } from './command-kit.js';
import type { CliContext } from './cli-context.js';
import { renderTable } from './table.js';

interface ZoneOptions {
  readonly tz?: string;
  readonly after?: string;
}

interface NewOptions extends ZoneOptions {
  readonly start?: string;
  readonly gmt?: boolean;
  readonly every?: string;
  readonly weekly?: string;
  readonly weeks?: string;
  readonly monthlyDay?: string;
  readonly monthlyWeekday?: string;
  readonly months?: string;
  readonly once?: boolean;
  readonly duration?: string;
}

/** `schedule convert` = Convert-CMSchedule; `schedule new` = New-CMSchedule. Pure: no site is opened. */
export function registerScheduleCommands(program: Command, act: Act): void {
  const schedule = program
    .command('schedule')
    .description('schedule tokens (SMS_ScheduleToken): read and build the 16-hex-digit strings');
  const zoneOptions = (cmd: Command): Command =>
    cmd
      .option('--tz <zone>', 'IANA time zone of local-time tokens and of the output (default: this machine)')
      .option(
        '--after <YYYY-MM-DDTHH:MM>',
        'show the next run after this time (local in --tz, or with Z/±hh:mm)',
      );

  zoneOptions(
    schedule
      .command('convert')
      .description('decode schedule strings (Convert-CMSchedule): kind, start, recurrence and next run')
      .argument('<string...>', 'schedule strings: 16 hex digits per token, tokens may be concatenated'),
  ).action(
    act((ctx, strings: string[], o: ZoneOptions) => {
      const tz = zoneOf(o);
      const after = parseAfter(o.after, tz);
      const tokens = strings.flatMap((s) => readScheduleString(s));
      if (tokens.length === 0)
        throw new SitecastError('INVALID_PARAMETER', 'no schedule token given (the strings are empty)', {
          field: 'ScheduleString',
        });
      printTokens(ctx, tokens, tz, after);
      return Promise.resolve();
    }),
  );

  zoneOptions(
    schedule
      .command('new')
      .description('build a schedule string (New-CMSchedule); prints its 16 hex digits')
      .option('--start <YYYY-MM-DDTHH:MM>', 'StartTime, wall clock in --tz (UTC with --gmt); default now')
      .option('--gmt', 'IsGMT: the start and every run are UTC, not local time')
      .option('--once', 'SMS_ST_NonRecurring: run once, at --start')
      .option('--every <N>d|h|m', 'SMS_ST_RecurInterval: every N days, hours or minutes (e.g. 7d, 6h, 1h30m)')
      .option('--weekly <Sun..Sat>', 'SMS_ST_RecurWeekly: on this weekday')
      .option('--weeks <1-4>', 'with --weekly: every N weeks (default 1)')
      .option('--monthly-day <0-31>', 'SMS_ST_RecurMonthlyByDate: on this day of the month (0 = last day)')
      .option(
        '--monthly-weekday <first|second|third|fourth|last>:<Sun..Sat>',
        'SMS_ST_RecurMonthlyByWeekday: e.g. last:Tue',
      )
      .option('--months <1-12>', 'with --monthly-day or --monthly-weekday: every N months (default 1)')
      .option('--duration <N>d|h|m', 'how long each run lasts (e.g. 2h, 1d12h); default 0'),
  ).action(
    act((ctx, o: NewOptions) => {
      const tz = zoneOf(o);
      const after = parseAfter(o.after, tz);
      const token = buildToken(o, tz, after);
      if (ctx.json) printTokens(ctx, [token], tz, after, true);
      else ctx.print(writeScheduleString([token]));
      return Promise.resolve();
    }),
  );
}

function printTokens(
  ctx: CliContext,
  tokens: readonly SMS_ScheduleToken[],
  tz: string,
  after: number,
  single = false,
): void {
  const rows = tokens.map((t) => ({ token: t, next: nextOccurrence(t, after, tz) }));
  const json = rows.map(({ token, next }) => ({
    ScheduleString: writeScheduleString([token]),
    ClassName: scheduleClassName(token),
    ...token,
    Description: describeSchedule(token),
    NextRunTime: next === null ? null : new Date(next).toISOString(),
  }));
  ctx.result(
    () => (single ? json[0] : json),
    () =>
      renderTable(
        [
          { header: 'Token' },
          { header: 'Kind' },
          { header: 'Start' },
          { header: 'Recurrence' },
          { header: `Next run (${tz})` },
        ],
        rows.map(({ token, next }) => [
          writeScheduleString([token]),
          scheduleClassName(token),
          formatStart(token.StartTime) + (token.IsGMT ? ' UTC' : ''),
          describeSchedule(token),
          next === null ? '-' : formatWall(next, tz),
        ]),
      ),
  );
}

function buildToken(o: NewOptions, tz: string, now: number): SMS_ScheduleToken {
  const chosen = (['once', 'every', 'weekly', 'monthlyDay', 'monthlyWeekday'] as const).filter(
    (k) => o[k] !== undefined,
  );
  const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (chosen.length !== 1)
    invalid(
      chosen.length === 0 ? 'recurrence' : flag(chosen[1]!),
      chosen.length === 0
        ? 'give one of --once, --every, --weekly, --monthly-day or --monthly-weekday'
        : `give only one of --once, --every, --weekly, --monthly-day or --monthly-weekday (got ${chosen.map(flag).join(', ')})`,
    );
  const kind = chosen[0]!;
  if (o.weeks !== undefined && kind !== 'weekly') invalid('--weeks', '--weeks goes with --weekly');
  if (o.months !== undefined && kind !== 'monthlyDay' && kind !== 'monthlyWeekday')
    invalid('--months', '--months goes with --monthly-day or --monthly-weekday');

  const isGmt = o.gmt === true;
  const duration =
    o.duration === undefined ? { d: 0, h: 0, m: 0 } : parseSpan(o.duration, '--duration', true);
  const common = {
    StartTime: o.start === undefined ? startAt(now, isGmt ? 'UTC' : tz) : parseStart(o.start),
    IsGMT: isGmt,
    DayDuration: duration.d,
    HourDuration: duration.h,
    MinuteDuration: duration.m,
  };
  const months = o.months === undefined ? 1 : parseInteger(o.months, '--months', 1, 12);
  const fields = ((): Record<string, number> => {
    switch (kind) {
      case 'once':
        return { Kind: 1 };
      case 'every': {
        const span = parseSpan(o.every!, '--every', false);
        return { Kind: 2, DaySpan: span.d, HourSpan: span.h, MinuteSpan: span.m };
      }
      case 'weekly':
        return {
          Kind: 3,
          Day: parseWeekday(o.weekly!, '--weekly'),
          ForNumberOfWeeks: o.weeks === undefined ? 1 : parseInteger(o.weeks, '--weeks', 1, 4),
        };
      case 'monthlyDay':
        return {
          Kind: 5,
          MonthDay: parseInteger(o.monthlyDay!, '--monthly-day', 0, 31),
          ForNumberOfMonths: months,
        };
      case 'monthlyWeekday': {
        const [order = '', day = ''] = o.monthlyWeekday!.split(':');
        const WeekOrder = weekOrders.indexOf(order.trim().toLowerCase() as (typeof weekOrders)[number]);
        if (WeekOrder < 0 || o.monthlyWeekday!.split(':').length !== 2)
          invalid(
            '--monthly-weekday',
            `--monthly-weekday ${JSON.stringify(o.monthlyWeekday)} must be <first|second|third|fourth|last>:<Sun..Sat>, e.g. last:Tue`,
          );
        return { Kind: 4, Day: parseWeekday(day, '--monthly-weekday'), ForNumberOfMonths: months, WeekOrder };
      }
    }
  })();
  try {
    return checkScheduleToken({ ...common, ...fields });
  } catch (e) {
    // What is left (a MonthDay the chosen months never have) is still the options' fault: say which.
    const option = kind === 'monthlyDay' ? '--monthly-day' : '--start';
    if (e instanceof SitecastError) invalid(option, `${option}: ${e.message}`);
    throw e;
  }
}

/** --tz, or this machine's zone. */
function zoneOf(o: ZoneOptions): string {
  if (o.tz === undefined) return systemTimeZone();
  try {
    return checkTimeZone(o.tz);
  } catch (e) {
    if (e instanceof SitecastError) invalid('--tz', `--tz: ${e.message}`);
    throw e;
  }
}

/** WeekOrder 0-4 by name. */
const weekOrders = ['last', 'first', 'second', 'third', 'fourth'] as const;

function invalid(option: string, message: string): never {
  throw new SitecastError('INVALID_PARAMETER', message, { field: option });
}

function parseInteger(value: string, option: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n < min || n > max)
    invalid(option, `${option} ${JSON.stringify(value)} must be an integer from ${min} to ${max}`);
  return n;
}

/** `7d`, `6h`, `45m`, `1d2h30m`: days ≤ 31, hours ≤ 23, minutes ≤ 59 (the token's field widths). */
function parseSpan(value: string, option: string, zeroOk: boolean): { d: number; h: number; m: number } {
  const match = /^\s*(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?\s*$/i.exec(value);
  const shape = `${option} ${JSON.stringify(value)} must be <N>d, <N>h or <N>m (or a mix such as 1h30m)`;
  if (!match || (match[1] ?? match[2] ?? match[3]) === undefined) return invalid(option, shape);
  const [d, h, m] = [match[1], match[2], match[3]].map((x) => Number(x ?? 0)) as [number, number, number];
  if (d > 31) invalid(option, `${option} ${JSON.stringify(value)}: days must be at most 31`);
  if (h > 23)
    invalid(option, `${option} ${JSON.stringify(value)}: hours must be at most 23 (write 1d6h, not 30h)`);
  if (m > 59)
    invalid(option, `${option} ${JSON.stringify(value)}: minutes must be at most 59 (write 1h30m, not 90m)`);
  if (!zeroOk && d + h + m === 0) invalid(option, `${option} ${JSON.stringify(value)} must not be zero`);
  return { d, h, m };
}

/** `Tue`, `tuesday` or `3` → Day 1-7 (Sunday = 1). */
function parseWeekday(value: string, option: string): number {
  const v = value.trim().toLowerCase();
  const byName = WeekdayNames.findIndex((n) => v.length >= 3 && n.toLowerCase().startsWith(v));
  if (byName >= 0) return byName + 1;
  if (/^[1-7]$/.test(v)) return Number(v);
  return invalid(option, `${option}: ${JSON.stringify(value)} is not a weekday (Sun, Mon, … Sat)`);
}

/** `YYYY-MM-DDTHH:MM` (a space for the T is fine) as wall-clock fields; year 1970-2033, a real date. */
function parseStart(value: string): ScheduleStartTime {
  const m = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::00)?\s*$/.exec(value);
  if (!m) return invalid('--start', `--start ${JSON.stringify(value)} must be YYYY-MM-DDTHH:MM`);
  const [Year, Month, Day, Hour, Minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  const start = { Year, Month, Day, Hour, Minute };
  try {
    checkScheduleToken({
      Kind: 1,
      StartTime: start,
      IsGMT: false,
      DayDuration: 0,
      HourDuration: 0,
      MinuteDuration: 0,
    });
  } catch (e) {
    if (e instanceof SitecastError) invalid('--start', `--start ${JSON.stringify(value)}: ${e.message}`);
    throw e;
  }
  return start;
}

/** --after: `YYYY-MM-DDTHH:MM` as wall clock in `tz`, or any instant with `Z`/offset; default now. */
function parseAfter(value: string | undefined, tz: string): number {
  if (value === undefined) return Date.now();
  if (/(Z|[+-]\d{2}:?\d{2})\s*$/i.test(value)) {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) invalid('--after', `--after ${JSON.stringify(value)} is not a date-time`);
    return ms;
  }
  const m = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})\s*$/.exec(value);
  if (!m)
    return invalid(
      '--after',
      `--after ${JSON.stringify(value)} must be YYYY-MM-DDTHH:MM (local) or ISO with Z`,
    );
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
    invalid('--after', `--after ${JSON.stringify(value)} is not a date-time`);
  return instantOf({ year: y, month: mo, day: d, hour: h, minute: mi }, tz);
}

function startAt(now: number, zone: string): ScheduleStartTime {
  const w = wallTimeAt(now, zone);
  return { Year: w.year, Month: w.month, Day: w.day, Hour: w.hour, Minute: w.minute };
}

const two = (n: number): string => String(n).padStart(2, '0');

function formatStart(s: ScheduleStartTime): string {
  return `${s.Year}-${two(s.Month)}-${two(s.Day)} ${two(s.Hour)}:${two(s.Minute)}`;
}

function formatWall(ms: number, tz: string): string {
  const w = wallTimeAt(ms, tz);
  return `${w.year}-${two(w.month)}-${two(w.day)} ${two(w.hour)}:${two(w.minute)}`;
}
