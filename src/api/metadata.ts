/**
 * The OData service document and `$metadata` (CSDL XML), generated from the class descriptions. Instance
 * methods are actions bound to the entity type; static methods are actions bound to its collection
 * (`POST …/Class/AdminService.Method`, also accepted as `…/Class.Method`).
 */
import { apiClasses } from './class-registry.js';
import type { ApiClass, ApiMethod, ApiPropertyType } from './class-model.js';

const edm: Readonly<Record<ApiPropertyType, string>> = {
  string: 'Edm.String',
  int32: 'Edm.Int32',
  // OData has no unsigned types: UInt32 values travel as Int64 so 0xC0000000 fits.
  uint32: 'Edm.Int64',
  int64: 'Edm.Int64',
  float: 'Edm.Double',
  bool: 'Edm.Boolean',
  datetime: 'Edm.DateTimeOffset',
  'string[]': 'Collection(Edm.String)',
  'int[]': 'Collection(Edm.Int64)',
  object: 'Edm.Untyped',
  'object[]': 'Collection(Edm.Untyped)',
};

export function edmType(type: ApiPropertyType): string {
  return edm[type];
}

/** The service root: one entity set per class. */
export function serviceDocument(base: string): Record<string, unknown> {
  return {
    '@odata.context': `${base}$metadata`,
    value: apiClasses
      .filter((c) => c.key.length > 0)
      .map((c) => ({ name: c.name, kind: 'EntitySet', url: c.name })),
  };
}

let cached: string | undefined;

export function metadataXml(): string {
  cached ??= buildMetadata();
  return cached;
}

function buildMetadata(): string {
  const lines: string[] = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
    '  <edmx:DataServices>',
    '    <Schema Namespace="AdminService" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
  ];
  for (const cls of apiClasses) lines.push(...entityType(cls));
  for (const cls of apiClasses) for (const m of cls.methods ?? []) lines.push(...action(cls, m));
  lines.push('      <EntityContainer Name="AdminService">');
  for (const cls of apiClasses) {
    if (cls.key.length > 0)
      lines.push(`        <EntitySet Name="${cls.name}" EntityType="AdminService.${cls.name}"/>`);
  }
  lines.push('      </EntityContainer>', '    </Schema>', '  </edmx:DataServices>', '</edmx:Edmx>', '');
  return lines.join('\n');
}

function entityType(cls: ApiClass): string[] {
  const out = [`      <EntityType Name="${cls.name}"${cls.key.length === 0 ? ' Abstract="true"' : ''}>`];
  if (cls.key.length > 0) {
    out.push(`        <Key>${cls.key.map((k) => `<PropertyRef Name="${k}"/>`).join('')}</Key>`);
  }
  for (const [name, p] of Object.entries(cls.properties)) {
    const nullable = cls.key.includes(name) ? ' Nullable="false"' : '';
    out.push(`        <Property Name="${name}" Type="${edmType(p.type)}"${nullable}/>`);
  }
  out.push('      </EntityType>');
  return out;
}

function action(cls: ApiClass, m: ApiMethod): string[] {
  const binding =
    m.binding === 'instance' ? `AdminService.${cls.name}` : `Collection(AdminService.${cls.name})`;
  const result = `${cls.name}_${m.name}_Result`;
  const out = [
    `      <ComplexType Name="${result}">`,
    '        <Property Name="ReturnValue" Type="Edm.Int32" Nullable="false"/>',
    ...Object.entries(m.out ?? {}).map(([n, t]) => `        <Property Name="${n}" Type="${edmType(t)}"/>`),
    '      </ComplexType>',
    `      <Action Name="${m.name}" IsBound="true">`,
    `        <Parameter Name="bindingParameter" Type="${binding}"/>`,
    ...Object.entries(m.params).map(
      ([n, p]) =>
        `        <Parameter Name="${n}" Type="${edmType(p.type)}"${p.required ? ' Nullable="false"' : ''}/>`,
    ),
    `        <ReturnType Type="AdminService.${result}"/>`,
    '      </Action>',
  ];
  return out;
}
