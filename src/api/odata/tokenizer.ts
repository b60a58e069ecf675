/** Splits `$filter` text into tokens, each with its 1-based column span. */
import type { Literal, SourceSpan } from './ast.js';
import { isControl, queryError } from './query-error.js';

export type Token =
  | { readonly kind: 'punct'; readonly value: '(' | ')' | ','; readonly span: SourceSpan }
  /** Identifiers: keywords (`and`, `eq`, `startswith`) and property paths (`Name`, `A/B`). */
  | { readonly kind: 'word'; readonly value: string; readonly span: SourceSpan }
  | { readonly kind: 'literal'; readonly literal: Literal; readonly span: SourceSpan }
  | { readonly kind: 'eof'; readonly span: SourceSpan };

const FIELD = '$filter';
const wordRe = /[A-Za-z_][A-Za-z0-9_]*(?:\/[A-Za-z_][A-Za-z0-9_]*)*/y;
const numberRe = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;
const dateRe =
  /(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?/y;
const identChar = /[A-Za-z0-9_]/;

/** Hints for characters people bring from SQL, C# or JavaScript. */
const hints: Readonly<Record<string, string>> = {
  '"': 'strings are quoted with single quotes',
  '=': 'compare with eq, ne, gt, ge, lt or le',
  '<': 'compare with eq, ne, gt, ge, lt or le',
  '>': 'compare with eq, ne, gt, ge, lt or le',
  '!': 'use ne or not',
  '&': 'combine conditions with and',
  '|': 'combine conditions with or',
};

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const span = (from: number, to: number): SourceSpan => ({ start: from + 1, end: to + 1 });
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', value: c, span: span(i, i + 1) });
      i++;
    } else if (c === "'") {
      const end = readString(text, i);
      const s = span(i, end);
      const value = text.slice(i + 1, end - 1).replaceAll("''", "'");
      tokens.push({ kind: 'literal', literal: { kind: 'literal', type: 'string', value, span: s }, span: s });
      i = end;
    } else if (/[0-9-]/.test(c)) {
      const literal = readNumberOrDate(text, i);
      tokens.push({ kind: 'literal', literal, span: literal.span });
      i = literal.span.end - 1;
    } else if (/[A-Za-z_]/.test(c)) {
      wordRe.lastIndex = i;
      const word = wordRe.exec(text)![0];
      const s = span(i, i + word.length);
      if (word === 'true' || word === 'false') {
        const literal: Literal = { kind: 'literal', type: 'bool', value: word === 'true', span: s };
        tokens.push({ kind: 'literal', literal, span: s });
      } else if (word === 'null') {
        tokens.push({
          kind: 'literal',
          literal: { kind: 'literal', type: 'null', value: null, span: s },
          span: s,
        });
      } else {
        tokens.push({ kind: 'word', value: word, span: s });
      }
      i += word.length;
    } else {
      const hint = hints[c];
      const shown = isControl(c) ? `U+${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c;
      throw queryError(FIELD, text, i + 1, `unexpected character '${shown}'${hint ? ` (${hint})` : ''}`);
    }
  }
  tokens.push({ kind: 'eof', span: span(text.length, text.length) });
  return tokens;
}

/** Returns the index just past the closing quote; `''` inside is an escaped quote. */
function readString(text: string, open: number): number {
  let i = open + 1;
  for (;;) {
    const q = text.indexOf("'", i);
    if (q < 0) throw queryError(FIELD, text, open + 1, "unterminated string literal: expected a closing '");
    if (text[q + 1] === "'") {
      i = q + 2;
      continue;
    }
    return q + 1;
  }
}

function readNumberOrDate(text: string, at: number): Literal {
  dateRe.lastIndex = at;
  const date = dateRe.exec(text);
  if (date) return dateLiteral(text, at, date);
  numberRe.lastIndex = at;
  const m = numberRe.exec(text);
  if (!m) throw queryError(FIELD, text, at + 1, "expected a number after '-'");
  const end = at + m[0].length;
  rejectGlued(text, end);
  const span = { start: at + 1, end: end + 1 };
  const value = Number(m[0]);
  if (!Number.isFinite(value)) throw queryError(FIELD, text, at + 1, `number ${m[0]} is out of range`);
  const isInt = m[1] === undefined && m[2] === undefined;
  if (isInt && !Number.isSafeInteger(value)) {
    throw queryError(
      FIELD,
      text,
      at + 1,
      `integer ${m[0]} is out of range (at most ±${Number.MAX_SAFE_INTEGER})`,
    );
  }
  return { kind: 'literal', type: isInt ? 'int' : 'decimal', value, span };
}

function dateLiteral(text: string, at: number, m: RegExpExecArray): Literal {
  const end = at + m[0].length;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (h !== undefined && zone === undefined) {
    throw queryError(FIELD, text, end + 1, 'expected a time zone after the time: Z or ±hh:mm');
  }
  rejectGlued(text, end);
  const n = (v: string | undefined): number => (v === undefined ? 0 : Number(v));
  const [year, month, day, hour, minute, second] = [n(y), n(mo), n(d), n(h), n(mi), n(s)];
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  let offset = 0;
  if (zone !== undefined && zone !== 'Z') {
    const [oh, om] = [Number(zone.slice(1, 3)), Number(zone.slice(4, 6))];
    if (oh > 23 || om > 59) throw queryError(FIELD, text, at + 1, `time zone offset ${zone} is not valid`);
    offset = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  // Date rolls 2026-02-30 over to March; a date that does not round-trip does not exist.
  const valid =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60;
  if (!valid) throw queryError(FIELD, text, at + 1, `${m[0]} is not a valid date-time`);
  const value = date.getTime() - offset * 60_000;
  return { kind: 'literal', type: 'datetime', value, span: { start: at + 1, end: end + 1 } };
}

/** `12abc` or `2026-01-01x` is one mistyped token, not a number followed by a word. */
function rejectGlued(text: string, end: number): void {
  const next = text[end];
  if (next !== undefined && (identChar.test(next) || ".-:'".includes(next))) {
    throw queryError(FIELD, text, end + 1, `unexpected character '${next}' after a number`);
  }
}
