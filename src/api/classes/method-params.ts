/** Checks a method call's JSON body against the method's declared parameters, naming the one at fault. */
import { SitecastError } from '../../kernel/index.js';
import type { ApiSite } from '../api-site.js';
import type { ApiMethod, ApiPropertyType } from '../class-model.js';

/** Unknown parameters, missing required ones and values of the wrong JSON type are INVALID_PARAMETER. */
export function checkParams(
  className: string,
  method: ApiMethod,
  body: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  for (const name of Object.keys(body)) {
    if (!Object.hasOwn(method.params, name)) {
      const known = Object.keys(method.params);
      throw new SitecastError(
        'INVALID_PARAMETER',
        `${className}.${method.name} has no parameter ${name} (${known.length ? `parameters: ${known.join(', ')}` : 'it takes none'})`,
        { field: name },
      );
    }
  }
  for (const [name, p] of Object.entries(method.params)) {
    const v = body[name];
    if (v === undefined || v === null) {
      if (p.required) {
        throw new SitecastError('INVALID_PARAMETER', `${className}.${method.name} needs parameter ${name}`, {
          field: name,
        });
      }
      continue;
    }
    if (!matches(p.type, v)) {
      throw new SitecastError(
        'TYPE_MISMATCH',
        `parameter ${name} must be ${describe(p.type)}, not ${show(v)}`,
        {
          field: name,
        },
      );
    }
  }
  return body;
}

function matches(type: ApiPropertyType, v: unknown): boolean {
  switch (type) {
    case 'string':
    case 'datetime':
      return typeof v === 'string';
    case 'int32':
    case 'uint32':
    case 'int64':
      return typeof v === 'number' && Number.isInteger(v);
    case 'float':
      return typeof v === 'number';
    case 'bool':
      return typeof v === 'boolean';
    case 'string[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'int[]':
      return Array.isArray(v) && v.every((x) => Number.isInteger(x));
    case 'object':
      return typeof v === 'object' && !Array.isArray(v);
    case 'object[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x));
  }
}

function describe(type: ApiPropertyType): string {
  const names: Readonly<Record<ApiPropertyType, string>> = {
    string: 'a string',
    datetime: 'an ISO 8601 string',
    int32: 'an integer',
    uint32: 'an integer',
    int64: 'an integer',
    float: 'a number',
    bool: 'true or false',
    'string[]': 'an array of strings',
    'int[]': 'an array of integers',
    object: 'an object',
    'object[]': 'an array of objects',
  };
  return names[type];
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** A non-empty string array parameter (already type-checked), or a single string accepted as one item. */
export function stringArray(params: Readonly<Record<string, unknown>>, name: string): string[] {
  const v = params[name];
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? (v as string[]) : [];
  if (list.length === 0) {
    throw new SitecastError('INVALID_PARAMETER', `parameter ${name} must list at least one value`, {
      field: name,
    });
  }
  return list;
}

/**
 * The DPs of an AddDistributionPoints-style call: `nalField` lists them (NALPath or name), `siteField`
 * optionally gives each one's site code (parallel arrays, as in the SDK), checked against the DP.
 */
export async function dpTargets(
  site: ApiSite,
  params: Readonly<Record<string, unknown>>,
  nalField: string,
  siteField: string,
): Promise<string[]> {
  const nalPaths = stringArray(params, nalField);
  const siteCodes = params[siteField] === undefined ? undefined : stringArray(params, siteField);
  if (siteCodes && siteCodes.length !== nalPaths.length) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `${siteField} has ${siteCodes.length} entries but ${nalField} has ${nalPaths.length}; they are parallel arrays`,
      { field: siteField },
    );
  }
  for (const [i, ref] of nalPaths.entries()) {
    const dp = await site.dps.get(ref);
    if (siteCodes && siteCodes[i]!.toUpperCase() !== dp.siteCode) {
      throw new SitecastError(
        'INVALID_PARAMETER',
        `${siteField}[${i}] ${siteCodes[i]} does not match distribution point ${dp.name} (site ${dp.siteCode})`,
        { field: siteField },
      );
    }
  }
  return nalPaths;
}
