export type * from './ast.js';
export { comparisonOperators, predicateFunctions, stringFunctions } from './ast.js';
export {
  findProperty,
  isFilterable,
  type ODataEntity,
  type ODataProperty,
  type ODataPropertyType,
} from './entity.js';
export { defaultFilterLimits, parseFilter, type FilterLimits } from './filter-parser.js';
export { checkFilter } from './filter-check.js';
export { compileFilter } from './filter-compiler.js';
export {
  defaultODataLimits,
  parseQueryOptions,
  type ODataLimits,
  type ODataQuery,
  type OrderByItem,
  type RawQuery,
} from './query-options.js';
export { applyODataQuery, executeODataQuery, type ODataSelect, type ODataSqlOptions } from './apply-query.js';
export { projectRecord, selectedProperties } from './projection.js';
export type { ODataDialect } from './sql-string-rules.js';
