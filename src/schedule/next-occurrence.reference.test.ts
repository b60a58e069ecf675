/**
 * nextOccurrence, previousOccurrence and missedRun checked against a brute-force reference on random tokens:
 * walk every minute of a window around a DST change or month end, read the wall clock with its own
 * Intl formatter, and decide from the rules alone whether a slot fires at that minute.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom, seedFrom, type SeededRandom } from '../../test/support/seeded-random.js';
import { missedRun, nextOccurrence, previousOccurrence } from './next-occurrence.js';
import { checkScheduleToken, type SMS_ScheduleToken } from './schedule-token.js';

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

const formats = new Map<string, Intl.DateTimeFormat>();
/** The wall clock at `ms` as if it were UTC, to the minute. */
function wallKey(ms: number, zone: string): number {
  if (zone === 'UTC') return Math.floor(ms / minute) * minute;
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formats.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(ms).map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year!, p.month! - 1, p.day, p.hour, p.minute);
}

interface Window {
  readonly zone: string;
  readonly from: number;
  readonly to: number;
}

const pad = 180; // minutes of wall clock kept before the window, to look back over a fall-back hour

/** Wall keys for every minute of [from - pad, to), in `zone`. */
function keysFor(w: Window, zone: string): Float64Array {
  const n = (w.to - w.from) / minute + pad;
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = wallKey(w.from + (i - pad) * minute, zone);
  return keys;
}

/** Does a run at wall key K happen at minute i? At its first instance, or at the first minute after a gap. */
function firesAt(keys: Float64Array, i: number, K: number): boolean {
  if (keys[i] === K) return keys[i - 30] !== K && keys[i - 60] !== K && keys[i - 120] !== K;
  return keys[i - 1]! < K && K < keys[i]!;
}

/** The instant a wall time first happens (or the end of its gap), found by scanning minutes. */
function instantByScan(K: number, zone: string): number {
  let t = K - 14 * hour;
  while (wallKey(t + 3 * hour, zone) < K) t += hour;
  for (let s = t; s < t + 8 * hour; s += minute) {
    const k = wallKey(s, zone);
    if (k === K) return s;
    if (k > K && wallKey(s - minute, zone) < K) return s;
  }
  throw new Error(`no instant for ${new Date(K).toISOString()} in ${zone}`);
}

function civil(dayNo: number): { y: number; m: number; d: number; wd: number; dim: number } {
  const date = new Date(dayNo * day);
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth() + 1;
  return { y, m, d: date.getUTCDate(), wd: date.getUTCDay(), dim: new Date(Date.UTC(y, m, 0)).getUTCDate() };
}

/** Whether a calendar day (day number) carries a run of `t`, from the rules as the README states them. */
function dateMatches(t: SMS_ScheduleToken, dayNo: number): boolean {
  const s = t.StartTime;
  const startDay = Date.UTC(s.Year, s.Month - 1, s.Day) / day;
  const c = civil(dayNo);
  const months = (c.y - s.Year) * 12 + (c.m - s.Month);
  switch (t.Kind) {
    case 1:
      return dayNo === startDay;
    case 2:
      return dayNo >= startDay && (dayNo - startDay) % t.DaySpan === 0;
    case 3: {
      const weeks = (dayNo - c.wd - (startDay - civil(startDay).wd)) / 7;
      return c.wd === t.Day - 1 && weeks >= 0 && weeks % t.ForNumberOfWeeks === 0;
    }
    case 4: {
      const nth = t.WeekOrder === 0 ? c.d + 7 > c.dim : Math.ceil(c.d / 7) === t.WeekOrder;
      return months >= 0 && months % t.ForNumberOfMonths === 0 && c.wd === t.Day - 1 && nth;
    }
    case 5:
      return (
        months >= 0 && months % t.ForNumberOfMonths === 0 && c.d === (t.MonthDay === 0 ? c.dim : t.MonthDay)
      );
  }
}

/** Every run of `t` in the window, minute by minute. */
function referenceRuns(t: SMS_ScheduleToken, w: Window, keys: Float64Array): number[] {
  const zone = t.IsGMT ? 'UTC' : w.zone;
  const s = t.StartTime;
  const startKey = Date.UTC(s.Year, s.Month - 1, s.Day, s.Hour, s.Minute);
  const start = instantByScan(startKey, zone);
  const timeOfDay = s.Hour * hour + s.Minute * minute;
  const out: number[] = [];
  const elapsed =
    t.Kind === 2 && (t.HourSpan > 0 || t.MinuteSpan > 0)
      ? ((t.DaySpan * 24 + t.HourSpan) * 60 + t.MinuteSpan) * minute
      : 0;
  for (let i = pad; i < keys.length; i++) {
    const at = w.from + (i - pad) * minute;
    if (at < start) continue;
    if (elapsed > 0) {
      if ((at - start) % elapsed === 0) out.push(at);
      continue;
    }
    const today = Math.floor(keys[i]! / day);
    for (const d of [today - 1, today]) {
      if (dateMatches(t, d) && firesAt(keys, i, d * day + timeOfDay)) {
        out.push(at);
        break;
      }
    }
  }
  return out;
}

function randomTokenNear(r: SeededRandom, w: Window): SMS_ScheduleToken {
  const windowDay = Math.floor(w.from / day);
  for (;;) {
    const kind = r.int(1, 5);
    const back = kind === 1 || r.next() < 0.25 ? r.int(-1, 9) : r.int(0, 400);
    const c = civil(windowDay - back + 2);
    const common = {
      Kind: kind,
      StartTime: {
        Year: c.y,
        Month: c.m,
        Day: c.d,
        Hour: r.next() < 0.6 ? r.int(0, 3) : r.int(0, 23),
        Minute: r.next() < 0.4 ? 30 : r.int(0, 59),
      },
      IsGMT: r.next() < 0.15,
      DayDuration: 0,
      HourDuration: r.int(0, 2),
      MinuteDuration: 0,
    };
    const months = r.next() < 0.6 ? 1 : r.int(1, 12);
    const spans = [
      { DaySpan: r.int(1, 4), HourSpan: 0, MinuteSpan: 0 },
      { DaySpan: 0, HourSpan: r.int(1, 23), MinuteSpan: 0 },
      { DaySpan: 0, HourSpan: 0, MinuteSpan: r.int(7, 59) },
      { DaySpan: r.int(0, 1), HourSpan: r.int(0, 23), MinuteSpan: r.int(1, 59) },
    ];
    const specific = [
      {},
      {},
      spans[r.int(0, 3)],
      { Day: r.int(1, 7), ForNumberOfWeeks: r.next() < 0.6 ? 1 : r.int(1, 4) },
      { Day: r.int(1, 7), ForNumberOfMonths: months, WeekOrder: r.int(0, 4) },
      {
        MonthDay: r.next() < 0.3 ? 0 : r.next() < 0.5 ? r.int(28, 31) : r.int(1, 31),
        ForNumberOfMonths: months,
      },
    ][kind];
    try {
      return checkScheduleToken({ ...common, ...specific });
    } catch {
      // A MonthDay that never occurs: draw again.
    }
  }
}

const windows: readonly (Window & { readonly name: string })[] = [
  {
    name: 'Berlin spring forward + March end',
    zone: 'Europe/Berlin',
    from: Date.UTC(2026, 2, 26),
    to: Date.UTC(2026, 3, 2),
  },
  {
    name: 'Berlin fall back + October end',
    zone: 'Europe/Berlin',
    from: Date.UTC(2026, 9, 22),
    to: Date.UTC(2026, 10, 2),
  },
  {
    name: 'New York spring forward',
    zone: 'America/New_York',
    from: Date.UTC(2026, 2, 5),
    to: Date.UTC(2026, 2, 12),
  },
  {
    name: 'New York fall back + October end',
    zone: 'America/New_York',
    from: Date.UTC(2026, 9, 29),
    to: Date.UTC(2026, 10, 5),
  },
  {
    name: 'Berlin leap day 2028',
    zone: 'Europe/Berlin',
    from: Date.UTC(2028, 1, 25),
    to: Date.UTC(2028, 2, 3),
  },
];

describe('schedule occurrences against a minute-by-minute reference', () => {
  const seed = seedFrom(process.env, 'SCHEDULE_SEED');
  it.each(windows)('$name', (w) => {
    const r = seededRandom(seed ^ Math.floor(w.from / day));
    const localKeys = keysFor(w, w.zone);
    const utcKeys = keysFor(w, 'UTC');
    let runsSeen = 0;
    for (let n = 0; n < 60; n++) {
      const t = randomTokenNear(r, w);
      const label = `seed ${seed} (SCHEDULE_SEED), ${w.zone}, token ${JSON.stringify(t)}`;
      const expected = referenceRuns(t, w, t.IsGMT ? utcKeys : localKeys);
      const actual: number[] = [];
      for (
        let x = nextOccurrence(t, w.from - 1, w.zone);
        x !== null && x < w.to;
        x = nextOccurrence(t, x, w.zone)
      )
        actual.push(x);
      expect(
        actual.map((x) => new Date(x).toISOString()),
        label,
      ).toEqual(expected.map((x) => new Date(x).toISOString()));
      runsSeen += expected.length;
      for (const [j, at] of expected.slice(0, 6).entries()) {
        expect(previousOccurrence(t, at, w.zone), label).toBe(at);
        if (j > 0) expect(previousOccurrence(t, at - 1, w.zone), label).toBe(expected[j - 1]);
      }
      expect(missedRun([t], w.from - 1, w.to - 1, w.zone), label).toBe(expected.at(-1) ?? null);
    }
    // The draw is meant to land runs in the window; a reference that never fires would prove nothing.
    expect(runsSeen).toBeGreaterThan(20);
  });
});
