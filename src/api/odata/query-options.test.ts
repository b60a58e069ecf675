import { describe, expect, it } from 'vitest';
import { isSitecastError, type SitecastError } from '../../kernel/index.js';
import type { ODataEntity } from './entity.js';
import { projectRecord, selectedProperties } from './projection.js';
import { parseQueryOptions, type RawQuery } from './query-options.js';

const entity: ODataEntity = {
  name: 'SMS_Package',
  key: ['PackageID'],
  properties: {
    PackageID: { column: 'package_id', type: 'string' },
    Name: { column: 'name', type: 'string' },
    SourceVersion: { column: 'source_version', type: 'int' },
    Ratio: { column: 'ratio', type: 'float' },
    SourceDate: { column: 'source_date', type: 'datetime' },
    RefreshPkgSourceFlag: { column: 'refresh_flag', type: 'bool' },
    ImageProperty: { column: 'image_property', type: 'string', lazy: true },
    Secret: { column: 'secret', type: 'string', filterable: false },
  },
};

function rejects(raw: RawQuery): SitecastError {
  try {
    parseQueryOptions(raw, entity);
  } catch (e) {
    if (isSitecastError(e)) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe('parseQueryOptions', () => {
  it('parses every supported option', () => {
    const q = parseQueryOptions(
      {
        $filter: "Name eq 'x'",
        $select: 'Name, PackageID,Name',
        $orderby: 'SourceVersion desc, Name',
        $top: '10',
        $skip: '20',
        $count: 'true',
        other: 'left to the route',
      },
      entity,
    );
    expect(q).toMatchObject({
      filter: { kind: 'compare', operator: 'eq' },
      select: ['Name', 'PackageID'],
      orderBy: [
        { property: 'SourceVersion', direction: 'desc' },
        { property: 'Name', direction: 'asc' },
      ],
      top: 10,
      skip: 20,
      count: true,
    });
  });

  it('defaults to no filter, no paging, no count, and accepts URLSearchParams', () => {
    expect(parseQueryOptions({}, entity)).toEqual({ orderBy: [], count: false });
    const q = parseQueryOptions(new URLSearchParams('$top=0&$filter=SourceVersion%20ge%202'), entity);
    expect(q).toMatchObject({ top: 0, filter: { kind: 'compare', operator: 'ge' } });
  });

  it('names unknown and unsupported options', () => {
    const e = rejects({ $fliter: 'x' });
    expect(e).toMatchObject({ code: 'INVALID_QUERY', details: { field: '$fliter' } });
    expect(e.message).toContain('$fliter is not a known query option (supported: $filter, $select');
    expect(rejects({ $expand: 'x' }).message).toContain('$expand is not supported');
    expect(rejects({ $top: ['1', '2'] }).message).toBe('$top is given more than once');
  });

  it.each([
    [{ $top: '-1' }, '$top', '$top must be a non-negative integer'],
    [{ $top: '1.5' }, '$top', "got '1.5'"],
    [{ $top: '10001' }, '$top', '$top must be at most 10000, got 10001'],
    [{ $skip: 'abc' }, '$skip', '$skip must be a non-negative integer'],
    [{ $skip: '99999999999999999' }, '$skip', 'non-negative integer'],
    [{ $count: 'yes' }, '$count', '$count must be true or false'],
  ])('%j → %s error', (raw, field, fragment) => {
    const e = rejects(raw);
    expect(e.code).toBe('INVALID_QUERY');
    expect(e.details.field).toBe(field);
    expect(e.message).toContain(fragment);
  });

  it('names unknown properties with a suggestion and some valid ones', () => {
    const e = rejects({ $select: 'Name,Nmae' });
    expect(e.details).toMatchObject({ field: '$select', position: 6, property: 'Nmae' });
    expect(e.message).toContain(
      "SMS_Package has no property 'Nmae' (did you mean Name?; valid: PackageID, Name,",
    );
    expect(rejects({ $orderby: 'name desc' }).message).toContain('did you mean Name?');
    const f = rejects({ $filter: "Name eq 'a' and Colour eq 'red'" });
    expect(f.details).toMatchObject({ field: '$filter', position: 17, property: 'Colour' });
    expect(f.message).not.toContain('did you mean');
    expect(rejects({ $filter: 'constructor eq 1' }).details).toMatchObject({ property: 'constructor' });
    expect(rejects({ $select: '__proto__' }).details).toMatchObject({ property: '__proto__' });
  });

  it('checks $orderby syntax and usability', () => {
    expect(rejects({ $orderby: 'Name descending' }).details).toMatchObject({
      field: '$orderby',
      position: 6,
    });
    expect(rejects({ $orderby: 'Name,,SourceVersion' }).details).toMatchObject({ position: 6 });
    expect(rejects({ $orderby: 'Name, Name desc' }).message).toContain('Name appears twice');
    expect(rejects({ $orderby: 'ImageProperty' }).message).toContain('cannot be used in $orderby');
  });

  it('rejects literals of the wrong type with TYPE_MISMATCH and the column', () => {
    const cases: [string, number, string][] = [
      ["SourceVersion eq 'x'", 18, "SourceVersion is an integer and cannot be compared with 'x'"],
      ['SourceVersion eq 1.5', 18, 'cannot be compared with 1.5'],
      ["SourceDate gt '2026-01-01T00:00:00Z'", 15, 'write date-times unquoted'],
      ['RefreshPkgSourceFlag eq 1', 25, 'write true or false'],
      ['Name eq 5', 9, 'Name is a string'],
      ["Name in ('a', 2)", 15, 'cannot be compared with 2'],
      ['SourceVersion eq Name', 15, 'cannot compare SourceVersion (an integer) with Name (a string)'],
      ["startswith(SourceVersion, '1')", 12, 'startswith needs a string property'],
      ['startswith(Name, 1)', 18, 'expected a string literal as the second argument'],
      ['Name and SourceVersion eq 1', 1, 'Name is a string, not a condition'],
      ["tolower(SourceVersion) eq 'x'", 9, 'tolower needs a string'],
    ];
    for (const [filter, position, fragment] of cases) {
      const e = rejects({ $filter: filter });
      expect(e.code, filter).toBe('TYPE_MISMATCH');
      expect(e.details, filter).toMatchObject({ field: '$filter', position });
      expect(e.message, filter).toContain(fragment);
    }
  });

  it('accepts numeric promotion, literals on the left and null with eq/ne only', () => {
    expect(() =>
      parseQueryOptions({ $filter: 'Ratio gt 1 and Ratio lt 2.5 and 3 le SourceVersion' }, entity),
    ).not.toThrow();
    expect(() => parseQueryOptions({ $filter: 'Name eq null or SourceDate ne null' }, entity)).not.toThrow();
    expect(() =>
      parseQueryOptions({ $filter: 'RefreshPkgSourceFlag and not RefreshPkgSourceFlag' }, entity),
    ).not.toThrow();
    expect(rejects({ $filter: 'SourceVersion gt null' }).message).toContain(
      'null can only be compared with eq or ne',
    );
    expect(rejects({ $filter: '1 eq 1' }).message).toContain('expected a property on one side');
  });

  it('keeps lazy and unfilterable properties out of $filter, with a reason', () => {
    expect(rejects({ $filter: "ImageProperty eq 'x'" }).message).toContain(
      'SMS_Package.ImageProperty cannot be used in $filter (lazy property)',
    );
    expect(rejects({ $filter: "Secret eq 'x'" }).details).toMatchObject({ property: 'Secret', position: 1 });
    expect(rejects({ $filter: "Parent/Name eq 'x'" }).message).toContain('no navigation properties');
  });

  it('refuses overlong option values', () => {
    expect(rejects({ $select: 'Name,'.repeat(1000) + 'Name' }).message).toContain(
      '$select is longer than 4096',
    );
  });
});

describe('selectedProperties / projectRecord', () => {
  it('lists non-lazy properties by default, $select (with * and lazy names) when given', () => {
    const all = [
      'PackageID',
      'Name',
      'SourceVersion',
      'Ratio',
      'SourceDate',
      'RefreshPkgSourceFlag',
      'Secret',
    ];
    expect(selectedProperties(parseQueryOptions({}, entity), entity)).toEqual(all);
    expect(selectedProperties(parseQueryOptions({ $select: 'ImageProperty,Name' }, entity), entity)).toEqual([
      'ImageProperty',
      'Name',
    ]);
    expect(selectedProperties(parseQueryOptions({ $select: 'Name,*' }, entity), entity)).toEqual([
      'Name',
      ...all.filter((n) => n !== 'Name'),
    ]);
    expect(
      projectRecord({ Name: 'a', PackageID: 'P', Extra: 1 }, ['PackageID', 'Name', 'ImageProperty']),
    ).toEqual({
      PackageID: 'P',
      Name: 'a',
      ImageProperty: null,
    });
  });
});
