/**
 * The `$filter` syntax tree. Every node keeps where it came from so a later stage (type checking, the
 * compiler) can point at the exact spot of a problem.
 */

/** 1-based columns in the `$filter` text; `end` is exclusive. */
export interface SourceSpan {
  readonly start: number;
  readonly end: number;
}

export const comparisonOperators = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'] as const;
export type ComparisonOperator = (typeof comparisonOperators)[number];

/** Functions that yield a boolean: `startswith(Name,'Win')`. */
export const predicateFunctions = ['startswith', 'endswith', 'contains'] as const;
export type PredicateFunction = (typeof predicateFunctions)[number];

/** Functions that yield a string: `tolower(Name)`. */
export const stringFunctions = ['tolower', 'toupper'] as const;
export type StringFunction = (typeof stringFunctions)[number];

export type Literal =
  | { readonly kind: 'literal'; readonly type: 'string'; readonly value: string; readonly span: SourceSpan }
  /** Written without a decimal point or exponent; may still exceed the safe-integer range (checked later). */
  | { readonly kind: 'literal'; readonly type: 'int'; readonly value: number; readonly span: SourceSpan }
  | { readonly kind: 'literal'; readonly type: 'decimal'; readonly value: number; readonly span: SourceSpan }
  | { readonly kind: 'literal'; readonly type: 'bool'; readonly value: boolean; readonly span: SourceSpan }
  | { readonly kind: 'literal'; readonly type: 'null'; readonly value: null; readonly span: SourceSpan }
  /** ISO 8601 date-time, already converted to UTC epoch milliseconds (the site DB convention). */
  | {
      readonly kind: 'literal';
      readonly type: 'datetime';
      readonly value: number;
      readonly span: SourceSpan;
    };

export type LiteralType = Literal['type'];

/** A property path as written: `Name`, or `A/B` (rejected later: no navigation properties). */
export interface PropertyRef {
  readonly kind: 'property';
  readonly name: string;
  readonly span: SourceSpan;
}

export interface StringCall {
  readonly kind: 'string-call';
  readonly name: StringFunction;
  readonly argument: ValueNode;
  readonly span: SourceSpan;
}

export type ValueNode = Literal | PropertyRef | StringCall;

export interface Comparison {
  readonly kind: 'compare';
  readonly operator: ComparisonOperator;
  readonly left: ValueNode;
  readonly right: ValueNode;
  /** Where the operator keyword is, for errors about the operator itself. */
  readonly operatorSpan: SourceSpan;
  readonly span: SourceSpan;
}

export interface InList {
  readonly kind: 'in';
  readonly value: ValueNode;
  readonly items: readonly Literal[];
  readonly span: SourceSpan;
}

export interface PredicateCall {
  readonly kind: 'call';
  readonly name: PredicateFunction;
  readonly target: ValueNode;
  readonly argument: ValueNode;
  readonly span: SourceSpan;
}

export interface Logical {
  readonly kind: 'and' | 'or';
  /** At least two; `a and b and c` is one node with three operands. */
  readonly operands: readonly FilterNode[];
  readonly span: SourceSpan;
}

export interface Not {
  readonly kind: 'not';
  readonly operand: FilterNode;
  readonly span: SourceSpan;
}

/** A boolean property used on its own: `$filter=RefreshPkgSourceFlag`. */
export interface BooleanProperty {
  readonly kind: 'bool-property';
  readonly property: PropertyRef;
  readonly span: SourceSpan;
}

export type FilterNode = Comparison | InList | PredicateCall | Logical | Not | BooleanProperty;
