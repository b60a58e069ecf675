import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test/support/seeded-random.js';
import { isSitecastError, type SitecastError } from '../../kernel/index.js';
import type { FilterNode, ValueNode } from './ast.js';
import { parseFilter, type FilterLimits } from './filter-parser.js';

/** A compact rendering of the tree, so precedence tests read like the expected grouping. */
function show(n: FilterNode | ValueNode): string {
  switch (n.kind) {
    case 'and':
    case 'or':
      return `(${n.operands.map(show).join(` ${n.kind} `)})`;
    case 'not':
      return `not ${show(n.operand)}`;
    case 'compare':
      return `${show(n.left)} ${n.operator} ${show(n.right)}`;
    case 'in':
      return `${show(n.value)} in [${n.items.map(show).join(',')}]`;
    case 'call':
      return `${n.name}(${show(n.target)},${show(n.argument)})`;
    case 'bool-property':
      return `${n.property.name}?`;
    case 'property':
      return n.name;
    case 'string-call':
      return `${n.name}(${show(n.argument)})`;
    case 'literal':
      return n.type === 'string' ? JSON.stringify(n.value) : `${n.type}:${String(n.value)}`;
  }
}

function parseError(text: string, limits?: Partial<FilterLimits>): SitecastError {
  try {
    parseFilter(text, limits);
  } catch (e) {
    if (isSitecastError(e)) return e;
    throw new Error(`expected a SitecastError for ${JSON.stringify(text.slice(0, 80))}, got ${String(e)}`, {
      cause: e,
    });
  }
  throw new Error(`expected ${JSON.stringify(text.slice(0, 80))} to be rejected`);
}

describe('parseFilter: precedence and grouping', () => {
  it.each([
    ['A eq 1 or B eq 2 and C eq 3', '(A eq int:1 or (B eq int:2 and C eq int:3))'],
    ['A eq 1 and B eq 2 or C eq 3', '((A eq int:1 and B eq int:2) or C eq int:3)'],
    ['(A eq 1 or B eq 2) and C eq 3', '((A eq int:1 or B eq int:2) and C eq int:3)'],
    ['not A eq 1 and B eq 2', '(not A eq int:1 and B eq int:2)'],
    ['not (A eq 1 or B eq 2)', 'not (A eq int:1 or B eq int:2)'],
    ['A eq 1 and B eq 2 and C eq 3', '(A eq int:1 and B eq int:2 and C eq int:3)'],
    ['((A ne null))', 'A ne null:null'],
    ['5 lt Priority', 'int:5 lt Priority'],
    ["Name in ('a', 'b',null)", 'Name in ["a","b",null:null]'],
    [
      "startswith(Name,'Win') and not contains(tolower(Name), 'x')",
      '(startswith(Name,"Win") and not contains(tolower(Name),"x"))',
    ],
    ['Enabled and not Hidden', '(Enabled? and not Hidden?)'],
    ['Path/Leaf eq 1', 'Path/Leaf eq int:1'],
  ])('%s', (text, expected) => {
    expect(show(parseFilter(text))).toBe(expected);
  });
});

describe('parseFilter: literals', () => {
  const literal = (text: string): ValueNode => {
    const node = parseFilter(`P eq ${text}`);
    if (node.kind !== 'compare') throw new Error('not a comparison');
    return node.right;
  };

  it('undoubles quotes in strings and keeps everything else verbatim', () => {
    expect(literal("'O''Brien'")).toMatchObject({ type: 'string', value: "O'Brien" });
    expect(literal("''''")).toMatchObject({ type: 'string', value: "'" });
    expect(literal("''")).toMatchObject({ type: 'string', value: '' });
    expect(literal("'a and b eq ( %_\\'")).toMatchObject({ value: 'a and b eq ( %_\\' });
  });

  it('reads integers, decimals, booleans and null', () => {
    expect(literal('42')).toMatchObject({ type: 'int', value: 42 });
    expect(literal('-7')).toMatchObject({ type: 'int', value: -7 });
    expect(literal('2.5')).toMatchObject({ type: 'decimal', value: 2.5 });
    expect(literal('1e3')).toMatchObject({ type: 'decimal', value: 1000 });
    expect(literal('true')).toMatchObject({ type: 'bool', value: true });
    expect(literal('false')).toMatchObject({ type: 'bool', value: false });
    expect(literal('null')).toMatchObject({ type: 'null', value: null });
  });

  it('turns ISO 8601 date-times into UTC epoch ms, honouring offsets', () => {
    const utc = Date.UTC(2026, 0, 1);
    expect(literal('2026-01-01T00:00:00Z')).toMatchObject({ type: 'datetime', value: utc });
    expect(literal('2026-01-01T02:00:00+02:00')).toMatchObject({ value: utc });
    expect(literal('2025-12-31T19:30-04:30')).toMatchObject({ value: utc });
    expect(literal('2026-01-01T00:00:00.1234567Z')).toMatchObject({ value: utc + 123 });
    expect(literal('2026-01-01')).toMatchObject({ type: 'datetime', value: utc });
  });

  it('records 1-based spans on every node', () => {
    const node = parseFilter("Name eq  'x' and Priority gt 3");
    expect(node.kind).toBe('and');
    if (node.kind !== 'and') return;
    const [first, second] = node.operands;
    expect(first).toMatchObject({ span: { start: 1, end: 13 }, operatorSpan: { start: 6, end: 8 } });
    expect(first).toMatchObject({
      left: { span: { start: 1, end: 5 } },
      right: { span: { start: 10, end: 13 } },
    });
    expect(second).toMatchObject({ span: { start: 18, end: 31 } });
    expect(node.span).toEqual({ start: 1, end: 31 });
  });
});

describe('parseFilter: errors', () => {
  it('says what was expected, where, and shows a caret under the spot', () => {
    const e = parseError("Name 'x'");
    expect(e.code).toBe('INVALID_QUERY');
    expect(e.details).toEqual({ field: '$filter', position: 6 });
    expect(e.message).toBe(
      "$filter: expected a comparison operator (eq, ne, gt, ge, lt, le) or 'in', found 'x' at column 6\n" +
        "  Name 'x'\n" +
        '       ^',
    );
  });

  it.each([
    ["Name eq 'abc", 9, 'unterminated string'],
    ["Name eq 'it''s", 9, 'unterminated string'],
    ['(Name eq 1', 11, "expected ')' to close the '(' at column 1"],
    ['Name eq 1)', 10, "expected 'and', 'or' or the end of the filter"],
    ['Name EQ 1', 6, 'operators are lowercase'],
    ['Name = 1', 6, 'compare with eq'],
    ['Name eq "x"', 9, 'single quotes'],
    ['Name eq', 8, "expected a value after 'eq', found the end of the filter"],
    ['', 1, 'expected a condition'],
    ['and eq 1', 1, "expected a condition, found 'and'"],
    ["substring(Name,1) eq 'x'", 1, "function 'substring' is not supported"],
    ["startswith(Name 'x')", 17, "expected ',' and a second argument to startswith"],
    ["startswith(Name,'x') eq true", 22, "expected 'and', 'or'"],
    ["Name in 'a'", 9, "expected '(' and a list of values after 'in'"],
    ['Name in (Other)', 10, "expected a literal value in the 'in' list"],
    ["Name in ('a' 'b')", 14, "expected ',' or ')'"],
    ['P eq 2026-02-30T00:00:00Z', 6, 'is not a valid date-time'],
    ['P eq 2026-01-01T10:00:00', 25, 'expected a time zone'],
    ['P eq 12abc', 8, "unexpected character 'a' after a number"],
    ['P eq 99999999999999999999', 6, 'out of range'],
    ['P eq 1 & Q eq 2', 8, 'combine conditions with and'],
    ['P eq \u0007', 6, 'U+0007'],
  ])('%j at column %i: %s', (text, position, fragment) => {
    const e = parseError(text);
    expect(e.code).toBe('INVALID_QUERY');
    expect(e.details.position).toBe(position);
    expect(e.message).toContain(fragment);
    const [, snippet, caret] = e.message.split('\n');
    // The caret sits under the column at fault (snippets of short filters start at column 1).
    expect(caret!.indexOf('^') - 2).toBe(position - 1);
    expect(snippet!.length).toBeGreaterThan(1);
  });

  it('cuts long filters around the error in the snippet', () => {
    const text = `${'A eq 1 and '.repeat(20)}B eq eq ${' and C eq 1'.repeat(20)}`;
    const e = parseError(text);
    const [, snippet, caret] = e.message.split('\n');
    expect(snippet!.length).toBeLessThan(80);
    expect(snippet).toMatch(/^ {2}….*…$/);
    expect(snippet!.slice(caret!.indexOf('^'), caret!.indexOf('^') + 2)).toBe('eq');
  });
});

describe('parseFilter: limits and hostile input', () => {
  it('refuses filters past the length limit before reading them', () => {
    const e = parseError('('.repeat(10_000) + 'A eq 1' + ')'.repeat(10_000));
    expect(e.message).toContain('longer than 4096 characters');
    expect(e.details.position).toBe(4097);
  });

  it('refuses deep nesting instead of overflowing the stack', () => {
    const limits = { maxLength: 1_000_000 };
    expect(parseError('('.repeat(10_000) + 'A eq 1' + ')'.repeat(10_000), limits).message).toContain(
      'nests deeper than 64 levels',
    );
    expect(parseError('not '.repeat(100_000) + 'A', limits).details.position).toBe(64 * 4 + 1);
    expect(parseError('tolower('.repeat(5000) + 'A' + ')'.repeat(5000) + " eq 'a'", limits).code).toBe(
      'INVALID_QUERY',
    );
    expect(show(parseFilter('('.repeat(64) + 'A eq 1' + ')'.repeat(64)))).toBe('A eq int:1');
  });

  it('parses a long flat chain within the limits without deep trees', () => {
    const text = Array.from({ length: 300 }, (_, i) => `A eq ${i}`).join(' or ');
    const node = parseFilter(text);
    expect(node.kind === 'or' && node.operands.length).toBe(300);
  });

  it('answers random garbage with INVALID_QUERY, never a crash', () => {
    const rnd = seededRandom(20260601);
    const pieces = [
      "'",
      "''",
      '(',
      ')',
      ',',
      ' ',
      'eq',
      'and',
      'not',
      'in',
      'Name',
      'startswith',
      'tolower',
      '1',
      '-',
      '.5',
      '2026-01-01T00:00:00Z',
      'null',
      'true',
      '/',
      '\u0000',
      'é',
      '%',
      'T',
      ':',
      'e9',
    ];
    for (let i = 0; i < 3000; i++) {
      const text = Array.from({ length: rnd.int(0, 30) }, () => pieces[rnd.int(0, pieces.length - 1)]).join(
        '',
      );
      try {
        parseFilter(text);
      } catch (e) {
        expect(
          isSitecastError(e, 'INVALID_QUERY'),
          `seed ${rnd.seed} #${i} ${JSON.stringify(text)}: ${String(e)}`,
        ).toBe(true);
      }
    }
  });
});
