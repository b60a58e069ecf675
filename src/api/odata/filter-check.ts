/**
 * Checks a parsed `$filter` against an entity: every property exists and may be filtered on, and every
 * literal fits the type of what it is compared with. Unknown or unusable names are INVALID_QUERY; values of
 * the wrong type are TYPE_MISMATCH (WBEM 0x80041005). Both carry the 1-based column in details.position.
 */
import type { FilterNode, Literal, LiteralType, ValueNode } from './ast.js';
import {
  findProperty,
  isFilterable,
  unknownPropertyMessage,
  type ODataEntity,
  type ODataPropertyType,
} from './entity.js';
import { queryError } from './query-error.js';

const FIELD = '$filter';

const typeNames: Readonly<Record<ODataPropertyType, string>> = {
  string: 'a string',
  int: 'an integer',
  float: 'a number',
  bool: 'a boolean',
  datetime: 'a date-time',
};

const accepts: Readonly<Record<ODataPropertyType, readonly LiteralType[]>> = {
  string: ['string'],
  int: ['int'],
  float: ['int', 'decimal'],
  bool: ['bool'],
  datetime: ['datetime'],
};

/** The type of a property or function value; literals have their own LiteralType. */
export function valueType(node: Exclude<ValueNode, Literal>, entity: ODataEntity): ODataPropertyType {
  if (node.kind === 'string-call') return 'string';
  const p = findProperty(entity, node.name);
  if (!p) throw new Error(`unchecked filter: unknown property ${node.name}`);
  return p.type;
}

/** Throws INVALID_QUERY or TYPE_MISMATCH with the position of the first problem. */
export function checkFilter(node: FilterNode, entity: ODataEntity, text: string): void {
  new FilterChecker(entity, text).check(node);
}

class FilterChecker {
  constructor(
    private readonly entity: ODataEntity,
    private readonly text: string,
  ) {}

  check(node: FilterNode): void {
    switch (node.kind) {
      case 'and':
      case 'or':
        node.operands.forEach((n) => this.check(n));
        return;
      case 'not':
        return this.check(node.operand);
      case 'bool-property': {
        const type = this.resolve(node.property);
        if (type !== 'bool') {
          this.mismatch(
            node.span.start,
            `${node.property.name} is ${typeNames[type]}, not a condition; compare it (e.g. with eq)`,
          );
        }
        return;
      }
      case 'compare':
        return this.checkComparison(node);
      case 'in': {
        if (node.value.kind === 'literal')
          this.invalid(node.value.span.start, "expected a property before 'in'");
        const type = this.resolve(node.value);
        node.items.forEach((item) => this.fits(type, item, describeValue(node.value)));
        return;
      }
      case 'call': {
        if (node.target.kind === 'literal') {
          this.invalid(node.target.span.start, `expected a property as the first argument of ${node.name}`);
        }
        const type = this.resolve(node.target);
        if (type !== 'string') {
          this.mismatch(
            node.target.span.start,
            `${node.name} needs a string property; ${describeValue(node.target)} is ${typeNames[type]}`,
          );
        }
        const arg = node.argument;
        if (arg.kind !== 'literal' || arg.type !== 'string') {
          this.mismatch(
            arg.span.start,
            `expected a string literal as the second argument of ${node.name}, found ${this.source(arg)}`,
          );
        }
        return;
      }
    }
  }

  private checkComparison(node: Extract<FilterNode, { kind: 'compare' }>): void {
    const { left, right, operator } = node;
    if (left.kind === 'literal' && right.kind === 'literal') {
      this.invalid(left.span.start, `expected a property on one side of '${operator}', found two literals`);
    }
    const hasNull =
      (left.kind === 'literal' && left.type === 'null') ||
      (right.kind === 'literal' && right.type === 'null');
    if (hasNull && operator !== 'eq' && operator !== 'ne') {
      this.invalid(node.operatorSpan.start, `null can only be compared with eq or ne, not '${operator}'`);
    }
    if (left.kind !== 'literal' && right.kind !== 'literal') {
      const [a, b] = [this.resolve(left), this.resolve(right)];
      const numeric = (t: ODataPropertyType): boolean => t === 'int' || t === 'float';
      if (a !== b && !(numeric(a) && numeric(b))) {
        this.mismatch(
          node.operatorSpan.start,
          `cannot compare ${describeValue(left)} (${typeNames[a]}) with ${describeValue(right)} (${typeNames[b]})`,
        );
      }
      return;
    }
    const [value, literal] = left.kind === 'literal' ? [right, left] : [left, right as Literal];
    if (value.kind === 'literal') return;
    this.fits(this.resolve(value), literal, describeValue(value));
  }

  private fits(type: ODataPropertyType, literal: Literal, what: string): void {
    if (literal.type === 'null' || accepts[type].includes(literal.type)) return;
    let hint = '';
    if (type === 'datetime' && literal.type === 'string')
      hint = ' (write date-times unquoted: 2026-01-01T00:00:00Z)';
    if (type === 'bool' && literal.type === 'int') hint = ' (write true or false)';
    this.mismatch(
      literal.span.start,
      `${what} is ${typeNames[type]} and cannot be compared with ${this.source(literal)}${hint}`,
    );
  }

  /** The type of a property or tolower/toupper call, after checking the property may be filtered on. */
  private resolve(node: Exclude<ValueNode, Literal>): ODataPropertyType {
    if (node.kind === 'string-call') {
      if (node.argument.kind === 'literal')
        this.invalid(node.argument.span.start, `expected a property inside ${node.name}(`);
      const inner = this.resolve(node.argument);
      if (inner !== 'string') {
        this.mismatch(
          node.argument.span.start,
          `${node.name} needs a string; ${describeValue(node.argument)} is ${typeNames[inner]}`,
        );
      }
      return 'string';
    }
    if (node.name.includes('/')) {
      this.invalid(
        node.span.start,
        `property paths such as '${node.name}' are not supported; ${this.entity.name} has no navigation properties`,
      );
    }
    const p = findProperty(this.entity, node.name);
    if (!p) {
      const usable = Object.keys(this.entity.properties).filter((n) =>
        isFilterable(this.entity.properties[n]!),
      );
      this.invalid(node.span.start, unknownPropertyMessage(this.entity, node.name, usable), {
        property: node.name,
      });
    }
    if (!isFilterable(p)) {
      this.invalid(
        node.span.start,
        `${this.entity.name}.${node.name} cannot be used in $filter${p.lazy ? ' (lazy property)' : ''}`,
        { property: node.name },
      );
    }
    return p.type;
  }

  private source(node: ValueNode): string {
    return this.text.slice(node.span.start - 1, node.span.end - 1);
  }

  private invalid(position: number, message: string, details: Record<string, unknown> = {}): never {
    throw queryError(FIELD, this.text, position, message, { details });
  }

  private mismatch(position: number, message: string): never {
    throw queryError(FIELD, this.text, position, message, { code: 'TYPE_MISMATCH' });
  }
}

function describeValue(node: ValueNode): string {
  if (node.kind === 'property') return node.name;
  if (node.kind === 'string-call') return `${node.name}(${describeValue(node.argument)})`;
  return 'the literal';
}
