/**
 * When a schedule runs: the pure maths (the clock is passed in as epoch ms). Each token is a series of slots
 * numbered k = 0, 1, 2…; slot k is an instant, or null when that period has none (MonthDay 31 in April).
 * Rules (README "Occurrence rules"): local tokens run on the wall clock of `timeZone`, IsGMT tokens on UTC;
 * a wall time in a spring-forward gap runs at the first instant after the gap, an ambiguous fall-back time
 * runs once, at its first instance; weekly and monthly tokens count weeks (Sunday-first) and months from the
 * week / month of StartTime; nothing runs before StartTime.
 */
import { SitecastError } from '../kernel/index.js';
import {
  dayNumber,
  daysInMonth,
  fromDayNumber,
  fromMonthIndex,
  monthIndex,
  weekdayOf,
} from './civil-date.js';
import { checkScheduleToken, type SMS_ScheduleToken } from './schedule-token.js';
import { checkTimeZone, instantOf, wallTimeAt } from './zoned-time.js';

interface SlotSeries {
  /** The first slot; nothing runs before it. */
  readonly start: number;
  /** Highest slot index (0 for a non-recurring token). */
  readonly last: number;
  at(k: number): number | null;
  /** A slot index at most one away from that of the last slot at or before `ms` (ms ≥ start). */
  indexNear(ms: number): number;
}

/** Consecutive empty periods before we give up; the worst valid token (Feb 29 yearly) has 7 (2097-2103). */
const maxEmptySlots = 64;

/** The first run of `token` strictly after `afterMs`, or null when it never runs again. */
export function nextOccurrence(token: SMS_ScheduleToken, afterMs: number, timeZone: string): number | null {
  checkInstant(afterMs, 'afterMs');
  const series = slotSeries(token, timeZone);
  let k = afterMs < series.start ? 0 : Math.max(0, series.indexNear(afterMs) - 1);
  for (let empty = 0; k <= series.last && empty <= maxEmptySlots; k++) {
    const slot = series.at(k);
    if (slot === null) empty++;
    else if (slot > afterMs) return slot;
    else empty = 0;
  }
  return null;
}

/** The last run of `token` at or before `atOrBeforeMs`, or null when it has not run by then. */
export function previousOccurrence(
  token: SMS_ScheduleToken,
  atOrBeforeMs: number,
  timeZone: string,
): number | null {
  checkInstant(atOrBeforeMs, 'atOrBeforeMs');
  const series = slotSeries(token, timeZone);
  if (atOrBeforeMs < series.start) return null;
  let k = Math.min(series.last, series.indexNear(atOrBeforeMs) + 1);
  for (let empty = 0; k >= 0 && empty <= maxEmptySlots; k--) {
    const slot = series.at(k);
    if (slot === null) empty++;
    else if (slot <= atOrBeforeMs) return slot;
  }
  return null;
}

/** The earliest next run of any of `tokens` (a package's RefreshSchedule holds several). */
export function nextOfAny(
  tokens: readonly SMS_ScheduleToken[],
  afterMs: number,
  timeZone: string,
): number | null {
  let best: number | null = null;
  for (const t of tokens) {
    const next = nextOccurrence(t, afterMs, timeZone);
    if (next !== null && (best === null || next < best)) best = next;
  }
  return best;
}

/**
 * The single latest slot of any token in (lastRunMs, nowMs], or null. A server that was down runs a missed
 * schedule once at start-up, not once per slot it slept through.
 */
export function missedRun(
  tokens: readonly SMS_ScheduleToken[],
  lastRunMs: number,
  nowMs: number,
  timeZone: string,
): number | null {
  let best: number | null = null;
  for (const t of tokens) {
    const prev = previousOccurrence(t, nowMs, timeZone);
    if (prev !== null && prev > lastRunMs && (best === null || prev > best)) best = prev;
  }
  return best;
}

function checkInstant(ms: number, field: string): void {
  if (!Number.isFinite(ms))
    throw new SitecastError('INVALID_PARAMETER', `${field} ${ms} is not an instant (epoch ms)`, { field });
}

function slotSeries(input: SMS_ScheduleToken, timeZone: string): SlotSeries {
  const token = checkScheduleToken(input);
  // The zone is checked even for UTC tokens so a bad setting fails the same way whatever the schedule.
  const zone = token.IsGMT ? 'UTC' : timeZone;
  checkTimeZone(timeZone);
  const s = token.StartTime;
  const time = { hour: s.Hour, minute: s.Minute };
  const start = instantOf({ year: s.Year, month: s.Month, day: s.Day, ...time }, zone);
  const startDay = dayNumber(s.Year, s.Month, s.Day);
  const onDay = (dayNo: number): number => instantOf({ ...fromDayNumber(dayNo), ...time }, zone);
  const localDay = (ms: number): number => {
    const w = wallTimeAt(ms, zone);
    return dayNumber(w.year, w.month, w.day);
  };
  const localMonth = (ms: number): number => {
    const w = wallTimeAt(ms, zone);
    return monthIndex(w.year, w.month);
  };
  const notBeforeStart = (slot: number): number | null => (slot < start ? null : slot);

  switch (token.Kind) {
    case 1:
      return { start, last: 0, at: () => start, indexNear: () => 0 };
    case 2: {
      if (token.HourSpan === 0 && token.MinuteSpan === 0) {
        // Whole days step on the wall clock: "every 7 days at 02:00" stays at 02:00 across DST.
        const span = token.DaySpan;
        return {
          start,
          last: Infinity,
          at: (k) => onDay(startDay + k * span),
          indexNear: (ms) => Math.max(0, Math.floor((localDay(ms) - startDay) / span)),
        };
      }
      // Hours and minutes (alone or with days) are elapsed time: every 6 hours is every 6 hours.
      const spanMs = ((token.DaySpan * 24 + token.HourSpan) * 60 + token.MinuteSpan) * 60_000;
      return {
        start,
        last: Infinity,
        at: (k) => start + k * spanMs,
        indexNear: (ms) => Math.floor((ms - start) / spanMs),
      };
    }
    case 3: {
      // Weeks run Sunday to Saturday; week 0 is the one holding StartTime, then every N weeks.
      const first = startDay - weekdayOf(startDay) + (token.Day - 1);
      const step = 7 * token.ForNumberOfWeeks;
      return {
        start,
        last: Infinity,
        at: (k) => notBeforeStart(onDay(first + k * step)),
        indexNear: (ms) => Math.max(0, Math.floor((localDay(ms) - first) / step)),
      };
    }
    case 4:
    case 5: {
      const m0 = monthIndex(s.Year, s.Month);
      const every = token.ForNumberOfMonths;
      const dayIn =
        token.Kind === 4
          ? (year: number, month: number): number | null =>
              weekdayInMonth(year, month, token.Day - 1, token.WeekOrder)
          : (year: number, month: number): number | null => {
              const length = daysInMonth(year, month);
              if (token.MonthDay === 0) return length;
              // A month without that day is skipped: MonthDay 0 is how to ask for the last day.
              return token.MonthDay <= length ? token.MonthDay : null;
            };
      return {
        start,
        last: Infinity,
        at: (k) => {
          const { year, month } = fromMonthIndex(m0 + k * every);
          const day = dayIn(year, month);
          return day === null ? null : notBeforeStart(onDay(dayNumber(year, month, day)));
        },
        indexNear: (ms) => Math.max(0, Math.floor((localMonth(ms) - m0) / every)),
      };
    }
  }
}

/** Day of the month of the `order`-th (1-4; 0 = last) `weekday` (0 = Sunday) of a month. */
function weekdayInMonth(year: number, month: number, weekday: number, order: number): number {
  if (order === 0) {
    const last = daysInMonth(year, month);
    return last - ((weekdayOf(dayNumber(year, month, last)) - weekday + 7) % 7);
  }
  const firstMatch = 1 + ((weekday - weekdayOf(dayNumber(year, month, 1)) + 7) % 7);
  return firstMatch + (order - 1) * 7;
}
