/**
 * Turns a checked `$filter` tree into one SQL boolean expression. Values are always bound parameters;
 * identifiers come from the entity description (trusted code), never from the filter text.
 *
 * Null semantics follow OData, not SQL: every comparison is definitely true or false, never unknown, so
 * `not` behaves as people expect. `Name ne 'x'` matches rows whose Name is null; `Priority gt 1`, `in`,
 * startswith/endswith/contains are false for null; `eq null` / `ne null` become IS NULL / IS NOT NULL.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { ComparisonOperator, FilterNode, Literal, ValueNode } from './ast.js';
import { findProperty, type ODataEntity } from './entity.js';
import { valueType } from './filter-check.js';
import {
  escapeLike,
  foldValue,
  sqlStringRules,
  type ODataDialect,
  type SqlStringRules,
} from './sql-string-rules.js';

const sqlOperators: Readonly<Record<ComparisonOperator, string>> = {
  eq: '=',
  ne: '<>',
  gt: '>',
  ge: '>=',
  lt: '<',
  le: '<=',
};

/** The SQL for `node`; `node` must have passed checkFilter against the same entity. */
export function compileFilter(
  node: FilterNode,
  entity: ODataEntity,
  dialect: ODataDialect,
): RawBuilder<SqlBool> {
  return new FilterCompiler(entity, sqlStringRules[dialect]).compile(node);
}

class FilterCompiler {
  constructor(
    private readonly entity: ODataEntity,
    private readonly strings: SqlStringRules,
  ) {}

  compile(node: FilterNode): RawBuilder<SqlBool> {
    switch (node.kind) {
      case 'and':
      case 'or':
        return sql<SqlBool>`(${sql.join(
          node.operands.map((n) => this.compile(n)),
          sql.raw(` ${node.kind} `),
        )})`;
      case 'not':
        return sql<SqlBool>`(not ${this.compile(node.operand)})`;
      case 'bool-property':
        return sql<SqlBool>`(coalesce(${this.column(node.property.name)}, 0) = 1)`;
      case 'compare':
        return this.comparison(node.operator, node.left, node.right);
      case 'in':
        return this.inList(node.value, node.items);
      case 'call': {
        const value = (node.argument as Extract<Literal, { type: 'string' }>).value;
        const escaped = escapeLike(foldValue(value));
        const pattern =
          node.name === 'startswith'
            ? `${escaped}%`
            : node.name === 'endswith'
              ? `%${escaped}`
              : `%${escaped}%`;
        const target = this.operand(node.target);
        const like = sql<SqlBool>`(${target} like ${pattern} escape '\\' and ${target} is not null)`;
        const range = node.name === 'startswith' ? prefixRange(foldValue(value)) : undefined;
        // The same rows, also as a range an index on the folded column can seek (SQLite never uses an
        // index for LIKE on an expression such as lower(x)).
        if (range) return sql<SqlBool>`(${target} >= ${range.from} and ${target} < ${range.to} and ${like})`;
        return like;
      }
    }
  }

  private comparison(op: ComparisonOperator, left: ValueNode, right: ValueNode): RawBuilder<SqlBool> {
    if (left.kind === 'literal' && right.kind !== 'literal') return this.comparison(mirror[op], right, left);
    const a = this.operand(left);
    if (right.kind === 'literal' && right.type === 'null') {
      return op === 'eq' ? sql<SqlBool>`(${a} is null)` : sql<SqlBool>`(${a} is not null)`;
    }
    const b = this.operand(right);
    const bare = sql<SqlBool>`${a} ${sql.raw(sqlOperators[op])} ${b}`;
    if (right.kind === 'literal') {
      return op === 'ne'
        ? sql<SqlBool>`(${bare} or ${a} is null)`
        : sql<SqlBool>`(${bare} and ${a} is not null)`;
    }
    if (op === 'eq') return sql<SqlBool>`(${a} is not distinct from ${b})`;
    if (op === 'ne') return sql<SqlBool>`(${a} is distinct from ${b})`;
    return sql<SqlBool>`(${bare} and ${a} is not null and ${b} is not null)`;
  }

  private inList(value: ValueNode, items: readonly Literal[]): RawBuilder<SqlBool> {
    const a = this.operand(value);
    const values = items.filter((i) => i.type !== 'null').map((i) => this.operand(i));
    const orNull = values.length < items.length ? sql` or ${a} is null` : sql``;
    if (values.length === 0) return sql<SqlBool>`(${a} is null)`;
    return sql<SqlBool>`((${a} in (${sql.join(values)}) and ${a} is not null)${orNull})`;
  }

  /** A value as SQL: strings folded on both sides so comparisons ignore case. */
  private operand(node: ValueNode): RawBuilder<unknown> {
    switch (node.kind) {
      case 'literal':
        return literalValue(node);
      case 'string-call':
        // Comparisons already ignore case, so tolower/toupper only need to keep the folded form.
        return this.operand(node.argument);
      case 'property': {
        const column = this.column(node.name);
        return valueType(node, this.entity) === 'string' ? this.strings.fold(column) : column;
      }
    }
  }

  private column(name: string): RawBuilder<unknown> {
    const p = findProperty(this.entity, name);
    if (!p) throw new Error(`unchecked filter: unknown property ${name}`);
    return sql.ref(p.column);
  }
}

/** `5 lt Priority` is `Priority gt 5`. */
const mirror: Readonly<Record<ComparisonOperator, ComparisonOperator>> = {
  eq: 'eq',
  ne: 'ne',
  gt: 'lt',
  ge: 'le',
  lt: 'gt',
  le: 'ge',
};

/** A bound parameter in the site DB's representation: bool as 0/1, date-times as epoch ms. */
function literalValue(node: Literal): RawBuilder<unknown> {
  switch (node.type) {
    case 'string':
      return sql.val(foldValue(node.value));
    case 'bool':
      return sql.val(node.value ? 1 : 0);
    case 'null':
      return sql.val(null);
    default:
      return sql.val(node.value);
  }
}

/**
 * The strings that start with `prefix`, as a byte-wise range [prefix, prefix with its last character
 * incremented): UTF-8 keeps code point order, and both dialects order the folded strings byte-wise (SQLite's
 * BINARY, PostgreSQL's "C"). Undefined when there is no simple upper bound (empty, or a last character at
 * the surrogate range or above).
 */
export function prefixRange(prefix: string): { readonly from: string; readonly to: string } | undefined {
  const chars = Array.from(prefix);
  const last = chars.pop()?.codePointAt(0);
  if (last === undefined || last >= 0xd7ff) return undefined;
  return { from: prefix, to: chars.join('') + String.fromCodePoint(last + 1) };
}
