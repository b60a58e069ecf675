/** Random valid schedule tokens for property tests, from a seeded PRNG so a failure can be replayed. */
import type { SeededRandom } from '../../test/support/seeded-random.js';
import { daysInMonth } from './civil-date.js';
import { checkScheduleToken, type ScheduleStartTime, type SMS_ScheduleToken } from './schedule-token.js';

export interface RandomTokenOptions {
  /** Start years to draw from (default the whole 1970-2033 range). */
  readonly years?: readonly [number, number];
  /** Kinds to draw from (default 1-5). */
  readonly kinds?: readonly number[];
  /** Draw hours 0-4 half the time, where DST changes happen. */
  readonly nearDst?: boolean;
  /** Allow the rare combinations (mixed day/hour spans, durations). Default true. */
  readonly full?: boolean;
}

export function randomStartTime(
  r: SeededRandom,
  years: readonly [number, number],
  nearDst = false,
): ScheduleStartTime {
  const Year = r.int(years[0], years[1]);
  const Month = r.int(1, 12);
  return {
    Year,
    Month,
    Day: r.int(1, daysInMonth(Year, Month)),
    Hour: nearDst && r.next() < 0.5 ? r.int(0, 4) : r.int(0, 23),
    Minute: r.next() < 0.3 ? 30 : r.int(0, 59),
  };
}

/** One random token that passes checkScheduleToken (retries the rare never-occurring MonthDay draws). */
export function randomToken(r: SeededRandom, options: RandomTokenOptions = {}): SMS_ScheduleToken {
  const kinds = options.kinds ?? [1, 2, 3, 4, 5];
  const full = options.full ?? true;
  for (let attempt = 0; ; attempt++) {
    const common = {
      StartTime: randomStartTime(r, options.years ?? [1970, 2033], options.nearDst),
      IsGMT: r.next() < 0.3,
      DayDuration: full ? r.int(0, 31) : 0,
      HourDuration: full ? r.int(0, 23) : 0,
      MinuteDuration: full ? r.int(0, 59) : 0,
    };
    const kind = kinds[r.int(0, kinds.length - 1)]!;
    const specific = (): Record<string, number> => {
      switch (kind) {
        case 2: {
          const pick = r.int(0, full ? 3 : 2);
          if (pick === 0) return { DaySpan: r.int(1, full ? 31 : 3), HourSpan: 0, MinuteSpan: 0 };
          if (pick === 1) return { DaySpan: 0, HourSpan: r.int(1, 23), MinuteSpan: 0 };
          if (pick === 2) return { DaySpan: 0, HourSpan: 0, MinuteSpan: r.int(1, 59) };
          return { DaySpan: r.int(0, 31), HourSpan: r.int(0, 23), MinuteSpan: r.int(1, 59) };
        }
        case 3:
          return { Day: r.int(1, 7), ForNumberOfWeeks: r.int(1, 4) };
        case 4:
          return { Day: r.int(1, 7), ForNumberOfMonths: r.int(1, 12), WeekOrder: r.int(0, 4) };
        case 5:
          return { MonthDay: r.int(0, 31), ForNumberOfMonths: r.int(1, 12) };
        default:
          return {};
      }
    };
    try {
      return checkScheduleToken({ Kind: kind, ...common, ...specific() });
    } catch (e) {
      // MonthDay 31 every 12 months from April never occurs, and is rightly refused: draw again.
      if (attempt > 100) throw e;
    }
  }
}
