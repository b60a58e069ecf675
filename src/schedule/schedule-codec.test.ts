import { describe, expect, it } from 'vitest';
import { seededRandom, seedFrom } from '../../test/support/seeded-random.js';
import { SitecastError } from '../kernel/index.js';
import { randomToken } from './random-token.test-helpers.js';
import { readScheduleString, writeScheduleString } from './schedule-codec.js';

const hex = (hi: number, lo: number): string =>
  (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');

/** hi word of a valid start: 2026-03-29 02:30. */
const goodHi = (30 << 26) | (2 << 21) | (29 << 16) | (3 << 12) | (56 << 6);

function rejection(s: string): SitecastError {
  try {
    readScheduleString(s);
  } catch (e) {
    expect(e).toBeInstanceOf(SitecastError);
    expect((e as SitecastError).code).toBe('INVALID_PARAMETER');
    return e as SitecastError;
  }
  throw new Error(`accepted ${s}`);
}

describe('schedule strings (reference §5)', () => {
  it('decodes the three worked examples to exactly the documented fields and writes them back', () => {
    const cases = [
      {
        s: '7913788000080000',
        token: {
          Kind: 1,
          StartTime: { Year: 2004, Month: 7, Day: 19, Hour: 8, Minute: 30 },
          IsGMT: false,
          DayDuration: 0,
          HourDuration: 0,
          MinuteDuration: 0,
        },
      },
      {
        s: '55147880001B2000',
        token: {
          Kind: 3,
          StartTime: { Year: 2004, Month: 7, Day: 20, Hour: 8, Minute: 21 },
          IsGMT: false,
          DayDuration: 0,
          HourDuration: 0,
          MinuteDuration: 0,
          Day: 3,
          ForNumberOfWeeks: 1,
        },
      },
      {
        s: '0001200000100038',
        token: {
          Kind: 2,
          StartTime: { Year: 1970, Month: 2, Day: 1, Hour: 0, Minute: 0 },
          IsGMT: false,
          DayDuration: 0,
          HourDuration: 0,
          MinuteDuration: 0,
          DaySpan: 7,
          HourSpan: 0,
          MinuteSpan: 0,
        },
      },
    ];
    for (const c of cases) {
      const tokens = readScheduleString(c.s);
      expect(tokens).toStrictEqual([c.token]);
      expect(writeScheduleString(tokens)).toBe(c.s);
    }
    // Concatenated, lower case, padded with whitespace: one list, written back upper case.
    const all = cases.map((c) => c.s).join('');
    const many = readScheduleString(`  ${all.toLowerCase()}\n`);
    expect(many.map((t) => t.Kind)).toEqual([1, 3, 2]);
    expect(writeScheduleString(many)).toBe(all);
    expect(readScheduleString('  ')).toEqual([]);
  });

  it('encodes every field where §5 puts it (IsGMT, durations, each kind)', () => {
    const [t] = readScheduleString(
      hex(goodHi | 45, (23 << 27) | (31 << 22) | (4 << 19) | (7 << 16) | (12 << 12) | (4 << 9) | 1),
    );
    expect(t).toMatchObject({
      Kind: 4,
      StartTime: { Year: 2026, Month: 3, Day: 29, Hour: 2, Minute: 30 },
      MinuteDuration: 45,
      HourDuration: 23,
      DayDuration: 31,
      IsGMT: true,
      Day: 7,
      ForNumberOfMonths: 12,
      WeekOrder: 4,
    });
    const [m] = readScheduleString(hex(goodHi, (5 << 19) | (31 << 14) | (7 << 10)));
    expect(m).toMatchObject({ Kind: 5, MonthDay: 31, ForNumberOfMonths: 7, IsGMT: false });
    const [i] = readScheduleString(hex(goodHi, (2 << 19) | (59 << 13) | (23 << 8) | (31 << 3)));
    expect(i).toMatchObject({ Kind: 2, MinuteSpan: 59, HourSpan: 23, DaySpan: 31 });
  });

  it('round-trips thousands of random valid tokens, singly and concatenated', () => {
    const r = seededRandom(seedFrom(process.env, 'SCHEDULE_SEED'));
    const tokens = Array.from({ length: 3000 }, () => randomToken(r));
    for (const [n, t] of tokens.entries()) {
      const s = writeScheduleString([t]);
      expect(s, `seed ${r.seed}, token ${n}`).toMatch(/^[0-9A-F]{16}$/);
      expect(readScheduleString(s), `seed ${r.seed}: ${s}`).toStrictEqual([t]);
      expect(writeScheduleString(readScheduleString(s.toLowerCase()))).toBe(s);
    }
    const joined = writeScheduleString(tokens.slice(0, 50));
    expect(joined).toHaveLength(800);
    expect(readScheduleString(joined)).toStrictEqual(tokens.slice(0, 50));
  });

  it('rejects a wrong length and a non-hex digit, naming the token', () => {
    expect(rejection('7913788000080').message).toMatch(/13 characters; it must be 16 hex digits per token/);
    const e = rejection('7913788000080000 55147880001B2000');
    expect(e.message).toMatch(/33 characters/);
    const g = rejection('791378800008000055147880001B20G0');
    expect(g.message).toBe('schedule token 1: "G" at position 30 is not a hex digit');
    expect(g.details).toEqual({ field: 'ScheduleString', tokenIndex: 1 });
  });

  it.each([
    ['Kind 0', hex(goodHi, 0), 'Kind', 'Kind 0 is out of range (1-5)'],
    ['Kind 6', hex(goodHi, 6 << 19), 'Kind', 'Kind 6'],
    ['Kind 7', hex(goodHi, 7 << 19), 'Kind', 'Kind 7'],
    ['month 13', hex((goodHi & ~(15 << 12)) | (13 << 12), 1 << 19), 'StartTime.Month', 'StartTime.Month 13'],
    ['month 0', hex(goodHi & ~(15 << 12), 1 << 19), 'StartTime.Month', 'StartTime.Month 0'],
    ['day 0', hex(goodHi & ~(31 << 16), 1 << 19), 'StartTime.Day', 'StartTime.Day 0'],
    ['Feb 30', hex((goodHi & ~(15 << 12)) | (2 << 12) | (1 << 16), 1 << 19), 'StartTime.Day', 'February'],
    ['hour 24', hex(goodHi | (24 << 21), 1 << 19), 'StartTime.Hour', 'StartTime.Hour 26'],
    ['minute 63', hex(goodHi | (63 << 26), 1 << 19), 'StartTime.Minute', 'StartTime.Minute 63'],
    ['MinuteDuration 60', hex(goodHi | 60, 1 << 19), 'MinuteDuration', 'MinuteDuration 60'],
    ['HourDuration 24', hex(goodHi, (24 << 27) | (1 << 19)), 'HourDuration', 'HourDuration 24'],
    ['HourSpan 24', hex(goodHi, (2 << 19) | (24 << 8)), 'HourSpan', 'HourSpan 24'],
    ['MinuteSpan 60', hex(goodHi, (2 << 19) | (60 << 13)), 'MinuteSpan', 'MinuteSpan 60'],
    ['zero spans', hex(goodHi, 2 << 19), 'DaySpan', 'all are 0'],
    ['weekly Day 0', hex(goodHi, (3 << 19) | (1 << 13)), 'Day', 'Day 0'],
    [
      'ForNumberOfWeeks 5',
      hex(goodHi, (3 << 19) | (2 << 16) | (5 << 13)),
      'ForNumberOfWeeks',
      'ForNumberOfWeeks 5',
    ],
    ['ForNumberOfWeeks 0', hex(goodHi, (3 << 19) | (2 << 16)), 'ForNumberOfWeeks', 'ForNumberOfWeeks 0'],
    ['WeekOrder 5', hex(goodHi, (4 << 19) | (2 << 16) | (1 << 12) | (5 << 9)), 'WeekOrder', 'WeekOrder 5'],
    [
      'ForNumberOfMonths 13',
      hex(goodHi, (4 << 19) | (2 << 16) | (13 << 12)),
      'ForNumberOfMonths',
      'ForNumberOfMonths 13',
    ],
    ['monthly 0 months', hex(goodHi, (5 << 19) | (3 << 14)), 'ForNumberOfMonths', 'ForNumberOfMonths 0'],
    [
      'reserved bit',
      hex(goodHi, (1 << 19) | (1 << 5)),
      'reserved',
      'unused bits 0x20 of the low word are set for kind 1',
    ],
  ])('rejects %s in the second token, naming field and token', (_name, bad, field, message) => {
    const e = rejection(`7913788000080000${bad}`);
    expect(e.details).toEqual({ field, tokenIndex: 1 });
    expect(e.message).toContain('schedule token 1: ');
    expect(e.message).toContain(message);
  });

  it('refuses to write an invalid token, naming its index', () => {
    const [good] = readScheduleString('0001200000100038');
    const bad = { ...good!, StartTime: { ...good!.StartTime, Year: 2034 } };
    expect(() => writeScheduleString([good!, bad])).toThrow(
      /schedule token 1: StartTime.Year 2034 is out of range \(1970-2033\)/,
    );
  });
});
