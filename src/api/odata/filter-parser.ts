/**
 * Recursive-descent parser for `$filter`. Precedence, loosest first: `or`, `and`, `not`, then a comparison,
 * `in (…)`, a predicate function or a parenthesised condition. Nesting is capped so hostile input fails
 * with INVALID_QUERY instead of overflowing the stack.
 */
import {
  comparisonOperators,
  predicateFunctions,
  stringFunctions,
  type ComparisonOperator,
  type FilterNode,
  type Literal,
  type PredicateFunction,
  type SourceSpan,
  type StringFunction,
  type ValueNode,
} from './ast.js';
import { queryError } from './query-error.js';
import { tokenize, type Token } from './tokenizer.js';

export interface FilterLimits {
  /** Characters; longer filters are refused before tokenizing. */
  readonly maxLength: number;
  /** Parentheses, `not` and function calls nested inside each other. */
  readonly maxDepth: number;
}

export const defaultFilterLimits: FilterLimits = { maxLength: 4096, maxDepth: 64 };

const FIELD = '$filter';
const keywords = new Set<string>(['and', 'or', 'not', 'in', ...comparisonOperators]);
const supportedFunctions = [...predicateFunctions, ...stringFunctions].join(', ');

/** Parses `$filter` text into a syntax tree; throws SitecastError INVALID_QUERY with the column at fault. */
export function parseFilter(text: string, limits: Partial<FilterLimits> = {}): FilterNode {
  const { maxLength, maxDepth } = { ...defaultFilterLimits, ...limits };
  if (text.length > maxLength) {
    throw queryError(FIELD, text, maxLength + 1, `filter is longer than ${maxLength} characters`);
  }
  return new FilterParser(text, tokenize(text), maxDepth).parse();
}

class FilterParser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
    private readonly maxDepth: number,
  ) {}

  parse(): FilterNode {
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'eof')
      this.fail(t, `expected 'and', 'or' or the end of the filter, found ${this.describe(t)}`);
    return node;
  }

  private parseOr(): FilterNode {
    return this.parseLogical('or', () => this.parseAnd());
  }

  private parseAnd(): FilterNode {
    return this.parseLogical('and', () => this.parseUnary());
  }

  private parseLogical(kind: 'and' | 'or', operand: () => FilterNode): FilterNode {
    const first = operand();
    const operands = [first];
    while (this.isWord(this.peek(), kind)) {
      this.index++;
      operands.push(operand());
    }
    if (operands.length === 1) return first;
    return { kind, operands, span: spanOf(first.span, operands[operands.length - 1]!.span) };
  }

  private parseUnary(): FilterNode {
    const t = this.peek();
    if (!this.isWord(t, 'not')) return this.parsePrimary();
    this.index++;
    return this.nested(t, () => {
      const operand = this.parseUnary();
      return { kind: 'not', operand, span: spanOf(t.span, operand.span) };
    });
  }

  private parsePrimary(): FilterNode {
    const t = this.peek();
    if (t.kind === 'punct' && t.value === '(') {
      this.index++;
      return this.nested(t, () => {
        const inner = this.parseOr();
        this.expectPunct(')', "expected ')' to close the '(' at column " + t.span.start);
        return inner;
      });
    }
    if (t.kind === 'word' && isPredicate(t.value) && this.isPunct(this.peek(1), '(')) {
      return this.parsePredicate(t, t.value);
    }
    const value = this.parseValue('a condition');
    const op = this.peek();
    if (op.kind === 'word' && isComparison(op.value)) {
      this.index++;
      const right = this.parseValue(`a value after '${op.value}'`);
      return {
        kind: 'compare',
        operator: op.value,
        left: value,
        right,
        operatorSpan: op.span,
        span: spanOf(value.span, right.span),
      };
    }
    if (this.isWord(op, 'in')) return this.parseIn(value);
    // A bare property is a boolean condition only where a condition may end; `Name 'x'` is a missing operator.
    const ends =
      op.kind === 'eof' || this.isPunct(op, ')') || this.isWord(op, 'and') || this.isWord(op, 'or');
    if (value.kind === 'property' && ends)
      return { kind: 'bool-property', property: value, span: value.span };
    const hint =
      op.kind === 'word' && isComparison(op.value.toLowerCase()) ? ' (operators are lowercase)' : '';
    return this.fail(
      op,
      `expected a comparison operator (eq, ne, gt, ge, lt, le) or 'in', found ${this.describe(op)}${hint}`,
    );
  }

  private parsePredicate(name: Token, fn: PredicateFunction): FilterNode {
    this.index += 2; // name and '('
    return this.nested(name, () => {
      const target = this.parseValue(`a property as the first argument of ${fn}`);
      this.expectPunct(',', `expected ',' and a second argument to ${fn}`);
      const argument = this.parseValue(`a string as the second argument of ${fn}`);
      const close = this.expectPunct(')', `expected ')' to close ${fn}(`);
      return { kind: 'call', name: fn, target, argument, span: spanOf(name.span, close.span) };
    });
  }

  private parseIn(value: ValueNode): FilterNode {
    this.index++; // 'in'
    this.expectPunct('(', "expected '(' and a list of values after 'in'");
    const items: Literal[] = [];
    for (;;) {
      const t = this.next();
      if (t.kind !== 'literal')
        this.fail(t, `expected a literal value in the 'in' list, found ${this.describe(t)}`);
      items.push(t.literal);
      const sep = this.next();
      if (this.isPunct(sep, ')')) return { kind: 'in', value, items, span: spanOf(value.span, sep.span) };
      if (!this.isPunct(sep, ','))
        this.fail(sep, `expected ',' or ')' in the 'in' list, found ${this.describe(sep)}`);
    }
  }

  private parseValue(what: string): ValueNode {
    const t = this.peek();
    if (t.kind === 'literal') {
      this.index++;
      return t.literal;
    }
    if (t.kind !== 'word' || keywords.has(t.value)) {
      return this.fail(t, `expected ${what}, found ${this.describe(t)}`);
    }
    if (this.isPunct(this.peek(1), '(')) {
      if (isStringFunction(t.value)) return this.parseStringCall(t, t.value);
      if (isPredicate(t.value)) return this.fail(t, `${t.value}(…) is a condition and cannot be compared`);
      return this.fail(t, `function '${t.value}' is not supported (supported: ${supportedFunctions})`);
    }
    this.index++;
    return { kind: 'property', name: t.value, span: t.span };
  }

  private parseStringCall(name: Token, fn: StringFunction): ValueNode {
    this.index += 2;
    return this.nested(name, () => {
      const argument = this.parseValue(`a property inside ${fn}(`);
      const close = this.expectPunct(')', `expected ')' to close ${fn}(`);
      return { kind: 'string-call', name: fn, argument, span: spanOf(name.span, close.span) };
    });
  }

  /** Runs `body` one nesting level deeper, refusing to go past the limit before recursing. */
  private nested<T>(at: Token, body: () => T): T {
    if (++this.depth > this.maxDepth) {
      this.fail(at, `filter nests deeper than ${this.maxDepth} levels`);
    }
    const result = body();
    this.depth--;
    return result;
  }

  private expectPunct(value: '(' | ')' | ',', message: string): Token {
    const t = this.next();
    if (!this.isPunct(t, value)) this.fail(t, `${message}, found ${this.describe(t)}`);
    return t;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.index++;
    return t;
  }

  private isWord(t: Token, value: string): boolean {
    return t.kind === 'word' && t.value === value;
  }

  private isPunct(t: Token, value: string): boolean {
    return t.kind === 'punct' && t.value === value;
  }

  private describe(t: Token): string {
    if (t.kind === 'eof') return 'the end of the filter';
    const raw = this.text.slice(t.span.start - 1, t.span.end - 1);
    return t.kind === 'literal' && t.literal.type === 'string' ? raw : `'${raw}'`;
  }

  private fail(t: Token, message: string): never {
    throw queryError(FIELD, this.text, t.span.start, message);
  }
}

function spanOf(from: SourceSpan, to: SourceSpan): SourceSpan {
  return { start: from.start, end: to.end };
}

function isComparison(word: string): word is ComparisonOperator {
  return (comparisonOperators as readonly string[]).includes(word);
}

function isPredicate(word: string): word is PredicateFunction {
  return (predicateFunctions as readonly string[]).includes(word);
}

function isStringFunction(word: string): word is StringFunction {
  return (stringFunctions as readonly string[]).includes(word);
}
