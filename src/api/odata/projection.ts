/** Which properties a response carries: `$select`, or every non-lazy property of the entity. */
import type { ODataEntity } from './entity.js';
import type { ODataQuery } from './query-options.js';

/** Property names in output order. Lazy properties appear only when `$select` names them. */
export function selectedProperties(
  query: Pick<ODataQuery, 'select'>,
  entity: ODataEntity,
): readonly string[] {
  return query.select ?? Object.keys(entity.properties).filter((n) => !entity.properties[n]!.lazy);
}

/** A copy of `record` with only `names`, in that order; a name the record lacks becomes null. */
export function projectRecord(
  record: Readonly<Record<string, unknown>>,
  names: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of names) out[n] = Object.hasOwn(record, n) ? record[n] : null;
  return out;
}
