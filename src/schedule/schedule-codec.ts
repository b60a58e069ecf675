/**
 * The string form of schedule tokens (reference §5), as SMS_ScheduleMethods.ReadFromString/WriteToString and
 * Convert-CMSchedule use it: 16 hex digits per token, tokens concatenated, each two 32-bit big-endian words
 * (hi then lo). Decoding is strict: a bit pattern that the writer would not produce back (a field out of
 * range, a reserved bit set) is an error, so read → write always returns the input (upper-cased).
 */
import { SitecastError } from '../kernel/index.js';
import { checkScheduleToken, type SMS_ScheduleToken } from './schedule-token.js';

const tokenDigits = 16;

/** Bits of the lo word that each kind leaves unused; set bits there are rejected, not silently dropped. */
const reservedLo: Readonly<Record<number, number>> = {
  1: 0x0007fffe, // bits 18-1
  2: 0x00000006, // bits 2-1
  3: 0x00001ffe, // bits 12-1
  4: 0x000001fe, // bits 8-1
  5: 0x000003fe, // bits 9-1
};

/** `s` → its tokens. Case-insensitive; surrounding whitespace ignored; the empty string has no tokens. */
export function readScheduleString(s: string): SMS_ScheduleToken[] {
  const text = s.trim();
  if (text.length % tokenDigits !== 0)
    throw new SitecastError(
      'INVALID_PARAMETER',
      `schedule string ${JSON.stringify(text)} has ${text.length} characters; it must be 16 hex digits per token`,
      { field: 'ScheduleString' },
    );
  const bad = /[^0-9a-f]/i.exec(text);
  if (bad)
    throw new SitecastError(
      'INVALID_PARAMETER',
      `schedule token ${Math.floor(bad.index / tokenDigits)}: ${JSON.stringify(bad[0])} at position ` +
        `${bad.index} is not a hex digit`,
      { field: 'ScheduleString', tokenIndex: Math.floor(bad.index / tokenDigits) },
    );
  const tokens: SMS_ScheduleToken[] = [];
  for (let i = 0; i < text.length / tokenDigits; i++) {
    const hex = text.slice(i * tokenDigits, (i + 1) * tokenDigits);
    tokens.push(decodeToken(parseInt(hex.slice(0, 8), 16), parseInt(hex.slice(8), 16), i));
  }
  return tokens;
}

/** Tokens → the concatenated string (upper-case hex). Every token is checked first. */
export function writeScheduleString(tokens: readonly SMS_ScheduleToken[]): string {
  return tokens.map((t, i) => encodeToken(checkScheduleToken(t, { index: i }))).join('');
}

function decodeToken(hi: number, lo: number, index: number): SMS_ScheduleToken {
  const bits = (word: number, high: number, low: number): number =>
    (word >>> low) & ((1 << (high - low + 1)) - 1);
  const kind = bits(lo, 21, 19);
  if (kind < 1 || kind > 5)
    throw new SitecastError(
      'INVALID_PARAMETER',
      `schedule token ${index}: Kind ${kind} is out of range (1-5)`,
      {
        field: 'Kind',
        tokenIndex: index,
      },
    );
  const reserved = lo & reservedLo[kind]!;
  if (reserved !== 0)
    throw new SitecastError(
      'INVALID_PARAMETER',
      `schedule token ${index}: unused bits 0x${reserved.toString(16).toUpperCase()} of the low word are set ` +
        `for kind ${kind}`,
      { field: 'reserved', tokenIndex: index },
    );
  const common = {
    StartTime: {
      Minute: bits(hi, 31, 26),
      Hour: bits(hi, 25, 21),
      Day: bits(hi, 20, 16),
      Month: bits(hi, 15, 12),
      Year: 1970 + bits(hi, 11, 6),
    },
    MinuteDuration: bits(hi, 5, 0),
    HourDuration: bits(lo, 31, 27),
    DayDuration: bits(lo, 26, 22),
    IsGMT: (lo & 1) === 1,
  };
  const specific =
    kind === 2
      ? { MinuteSpan: bits(lo, 18, 13), HourSpan: bits(lo, 12, 8), DaySpan: bits(lo, 7, 3) }
      : kind === 3
        ? { Day: bits(lo, 18, 16), ForNumberOfWeeks: bits(lo, 15, 13) }
        : kind === 4
          ? { Day: bits(lo, 18, 16), ForNumberOfMonths: bits(lo, 15, 12), WeekOrder: bits(lo, 11, 9) }
          : kind === 5
            ? { MonthDay: bits(lo, 18, 14), ForNumberOfMonths: bits(lo, 13, 10) }
            : {};
  return checkScheduleToken({ Kind: kind, ...common, ...specific }, { index });
}

function encodeToken(t: SMS_ScheduleToken): string {
  const s = t.StartTime;
  const hi =
    (s.Minute << 26) |
    (s.Hour << 21) |
    (s.Day << 16) |
    (s.Month << 12) |
    ((s.Year - 1970) << 6) |
    t.MinuteDuration;
  let lo = (t.HourDuration << 27) | (t.DayDuration << 22) | (t.Kind << 19) | (t.IsGMT ? 1 : 0);
  switch (t.Kind) {
    case 1:
      break;
    case 2:
      lo |= (t.MinuteSpan << 13) | (t.HourSpan << 8) | (t.DaySpan << 3);
      break;
    case 3:
      lo |= (t.Day << 16) | (t.ForNumberOfWeeks << 13);
      break;
    case 4:
      lo |= (t.Day << 16) | (t.ForNumberOfMonths << 12) | (t.WeekOrder << 9);
      break;
    case 5:
      lo |= (t.MonthDay << 14) | (t.ForNumberOfMonths << 10);
      break;
  }
  const word = (w: number): string => (w >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return word(hi) + word(lo);
}
