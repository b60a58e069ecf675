/**
 * Wall-clock time in an IANA time zone ↔ epoch ms, with Intl.DateTimeFormat as the only tz database (no npm
 * dependency). The two DST rules schedules need are decided here: a wall time in a spring-forward gap maps to
 * the first instant after the gap, and an ambiguous fall-back wall time maps to its first instance.
 */
import { SitecastError } from '../kernel/index.js';

export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

const msPerMinute = 60_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `time zone ${JSON.stringify(timeZone)} is not an IANA time zone (e.g. Europe/Berlin, UTC)`,
        { field: 'timeZone' },
      );
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws INVALID_PARAMETER (field `timeZone`) unless `timeZone` is a zone this runtime knows. */
export function checkTimeZone(timeZone: string): string {
  formatterFor(timeZone);
  return timeZone;
}

/** The zone this process runs in (what "local" means for the CLI). */
export function systemTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The wall clock in `timeZone` at instant `ms` (seconds dropped). */
export function wallTimeAt(ms: number, timeZone: string): WallTime {
  if (timeZone === 'UTC') {
    const d = new Date(ms);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
    };
  }
  const parts = formatterFor(timeZone).formatToParts(ms);
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value ?? NaN);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
  };
}

/** UTC offset in ms (local − UTC) in force at instant `ms`. */
export function offsetAt(ms: number, timeZone: string): number {
  const minuteStart = Math.floor(ms / msPerMinute) * msPerMinute;
  return asUtc(wallTimeAt(minuteStart, timeZone)) - minuteStart;
}

/**
 * The instant at which `wall` occurs in `timeZone`. In a spring-forward gap (the wall time never happens)
 * it is the first instant after the gap; in a fall-back overlap (it happens twice) the first one.
 */
export function instantOf(wall: WallTime, timeZone: string): number {
  const guess = asUtc(wall);
  if (timeZone === 'UTC') return guess;
  // No zone changes offset twice within two days, so the offsets a day either side are the only candidates.
  const before = offsetAt(guess - 86_400_000, timeZone);
  const after = offsetAt(guess + 86_400_000, timeZone);
  const candidates = [...new Set([before, after])]
    .map((offset) => guess - offset)
    .filter((t) => offsetAt(t, timeZone) === guess - t)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return candidates[0]!;
  // In the gap: find the transition, the first minute whose offset is the later one.
  let lo = guess - Math.max(before, after); // before the transition
  let hi = guess - Math.min(before, after); // at or after it
  lo = Math.floor(lo / msPerMinute);
  hi = Math.ceil(hi / msPerMinute);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid * msPerMinute, timeZone) === after) hi = mid;
    else lo = mid;
  }
  return hi * msPerMinute;
}

function asUtc(w: WallTime): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
}
