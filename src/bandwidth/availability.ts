/**
 * A DP's availability matrix (Configuration Manager's "schedule" tab of a DP / sender): for each of the
 * 7 × 24 hours of the week, which package priorities may send. Kept as 168 digits, Sunday 00:00 first.
 */
import { SitecastError } from '../kernel/index.js';
import { wallTimeAt } from '../schedule/index.js';

export const Availability = {
  /** Open to all priorities. */
  All: 0,
  /** Medium (normal) and high priority only. */
  MediumAndHigh: 1,
  HighOnly: 2,
  Closed: 3,
} as const;
export type AvailabilityLevel = (typeof Availability)[keyof typeof Availability];

export const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const HOURS_PER_WEEK = 7 * 24;

/** 168 levels, index = day × 24 + hour (day 0 = Sunday), in the DP's local time. */
export type AvailabilityMatrix = readonly AvailabilityLevel[];

export const alwaysOpen: AvailabilityMatrix = Object.freeze(
  new Array<AvailabilityLevel>(HOURS_PER_WEEK).fill(0),
);

/** Whether a package of `priority` (1 high, 2 normal, 3 low) may send in an hour of `level`. */
export function allows(level: AvailabilityLevel, priority: number): boolean {
  switch (level) {
    case Availability.All:
      return true;
    case Availability.MediumAndHigh:
      return priority <= 2;
    case Availability.HighOnly:
      return priority <= 1;
    default:
      return false;
  }
}

/** Parses the 168-digit form; the error names the day and hour of a bad digit. */
export function parseAvailability(text: string): AvailabilityMatrix {
  const s = text.replace(/\s+/g, '');
  if (s.length !== HOURS_PER_WEEK) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `availability must be ${HOURS_PER_WEEK} digits (7 days × 24 hours, Sunday 00:00 first), got ${s.length}`,
      { field: 'Availability' },
    );
  }
  return [...s].map((c, i) => {
    if (c < '0' || c > '3') {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `availability for ${DAY_NAMES[Math.floor(i / 24)]} ${String(i % 24).padStart(2, '0')}:00 is ${JSON.stringify(c)}; ` +
          'use 0 (all priorities), 1 (medium and high), 2 (high only) or 3 (closed)',
        { field: 'Availability', index: i },
      );
    }
    return Number(c) as AvailabilityLevel;
  });
}

export function formatAvailability(m: AvailabilityMatrix): string {
  return m.join('');
}

/**
 * Sets `level` for the given days and hours `[fromHour, toHour)` (wrapping past midnight into the same day's
 * early hours is not done: give two ranges). What `dp set --closed Mon-Fri 08-18` builds on.
 */
export function withHours(
  m: AvailabilityMatrix,
  days: readonly number[],
  fromHour: number,
  toHour: number,
  level: AvailabilityLevel,
): AvailabilityMatrix {
  if (!(fromHour >= 0 && toHour <= 24 && fromHour < toHour)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `hours ${fromHour}-${toHour} must satisfy 0 ≤ from < to ≤ 24`,
      {
        field: 'Availability',
      },
    );
  }
  const out = [...m];
  for (const d of days) for (let h = fromHour; h < toHour; h++) out[d * 24 + h] = level;
  return out;
}

/** Day of week (0 = Sunday) and hour in `timeZone` at `ms`. */
export function localDayHour(ms: number, timeZone: string): { day: number; hour: number } {
  const w = wallTimeAt(ms, timeZone);
  return { day: new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay(), hour: w.hour };
}

/** The level in force at `ms`. */
export function levelAt(m: AvailabilityMatrix, ms: number, timeZone: string): AvailabilityLevel {
  const { day, hour } = localDayHour(ms, timeZone);
  return m[day * 24 + hour]!;
}

/** Time zones shift by multiples of 15 minutes, so every local hour starts on one of these steps. */
const STEP_MS = 15 * 60 * 1000;

/**
 * The first instant ≥ `ms` at which `priority` may send: `ms` itself when open now, the start of the next
 * local hour that allows it, or null when no hour of the week does.
 */
export function nextOpening(
  m: AvailabilityMatrix,
  priority: number,
  ms: number,
  timeZone: string,
): number | null {
  if (allows(levelAt(m, ms, timeZone), priority)) return ms;
  if (!m.some((level) => allows(level, priority))) return null;
  // At most a week and a DST hour ahead.
  for (
    let t = Math.floor(ms / STEP_MS) * STEP_MS + STEP_MS, end = ms + 8 * 24 * 3600_000;
    t <= end;
    t += STEP_MS
  ) {
    if (allows(levelAt(m, t, timeZone), priority)) return t;
  }
  return null;
}

/** When the window that is open at `ms` for `priority` closes (the start of the first hour that does not allow it). */
export function nextClosing(
  m: AvailabilityMatrix,
  priority: number,
  ms: number,
  timeZone: string,
): number | null {
  if (m.every((level) => allows(level, priority))) return null;
  for (
    let t = Math.floor(ms / STEP_MS) * STEP_MS + STEP_MS, end = ms + 8 * 24 * 3600_000;
    t <= end;
    t += STEP_MS
  ) {
    if (!allows(levelAt(m, t, timeZone), priority)) return t;
  }
  return null;
}
