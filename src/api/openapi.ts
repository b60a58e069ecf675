/**
 * The OpenAPI 3.1 document of the AdminService, generated from the same class descriptions as the routes
 * and $metadata: a path per class collection, instance and method, a schema per class.
 */
import { apiClasses } from './class-registry.js';
import type { ApiClass, ApiMethod, ApiPropertyType } from './class-model.js';
import { wmiPrefix } from './admin-routes.js';

type Json = Record<string, unknown>;

function schemaOf(type: ApiPropertyType): Json {
  switch (type) {
    case 'string':
      return { type: ['string', 'null'] };
    case 'datetime':
      return { type: ['string', 'null'], format: 'date-time' };
    case 'int32':
      return { type: ['integer', 'null'], format: 'int32' };
    case 'uint32':
    case 'int64':
      return { type: ['integer', 'null'], format: 'int64' };
    case 'float':
      return { type: ['number', 'null'] };
    case 'bool':
      return { type: ['boolean', 'null'] };
    case 'string[]':
      return { type: 'array', items: { type: 'string' } };
    case 'int[]':
      return { type: 'array', items: { type: 'integer' } };
    case 'object':
      return { type: 'object' };
    case 'object[]':
      return { type: 'array', items: { type: 'object' } };
  }
}

const errorRef = { $ref: '#/components/schemas/Error' };
const errors = (...codes: number[]): Json =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      { description: 'error', content: { 'application/json': { schema: errorRef } } },
    ]),
  );

const queryParams = ['$filter', '$select', '$orderby', '$top', '$skip', '$count'].map((name) => ({
  name,
  in: 'query',
  required: false,
  schema: {
    type: name === '$top' || name === '$skip' ? 'integer' : name === '$count' ? 'boolean' : 'string',
  },
}));

function classSchema(cls: ApiClass): Json {
  return {
    type: 'object',
    description: cls.description,
    properties: Object.fromEntries(
      Object.entries(cls.properties).map(([n, p]) => [
        n,
        {
          ...schemaOf(p.type),
          ...(p.description && { description: p.description }),
          ...(!p.access && { readOnly: true }),
        },
      ]),
    ),
  };
}

function keyPath(cls: ApiClass): string {
  return cls.key.length === 1 ? `{${cls.key[0]}}` : cls.key.map((k) => `${k}={${k}}`).join(',');
}

function keyParams(cls: ApiClass): Json[] {
  return cls.key.map((k) => ({
    name: k,
    in: 'path',
    required: true,
    description: cls.properties[k]!.type === 'string' ? "quoted: 'value' ('' for a quote)" : 'a number',
    schema: { type: 'string' },
  }));
}

function methodOperation(cls: ApiClass, m: ApiMethod): Json {
  const required = Object.entries(m.params)
    .filter(([, p]) => p.required)
    .map(([n]) => n);
  return {
    post: {
      operationId: `${cls.name}.${m.name}`,
      tags: [cls.name],
      summary: m.description,
      ...(m.binding === 'instance' && { parameters: keyParams(cls) }),
      requestBody: {
        content: {
          'application/json': {
            schema: {
              type: 'object',
              additionalProperties: false,
              ...(required.length > 0 && { required }),
              properties: Object.fromEntries(
                Object.entries(m.params).map(([n, p]) => [
                  n,
                  { ...schemaOf(p.type), ...(p.description && { description: p.description }) },
                ]),
              ),
            },
          },
        },
      },
      responses: {
        '201': {
          description: 'ReturnValue 0 and the out parameters',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  ReturnValue: { type: 'integer', const: 0 },
                  ...Object.fromEntries(Object.entries(m.out ?? {}).map(([n, t]) => [n, schemaOf(t)])),
                },
              },
            },
          },
        },
        ...errors(400, 401, 403, 404, 409, 500),
      },
    },
  };
}

function classPaths(cls: ApiClass): Json {
  const ref = { $ref: `#/components/schemas/${cls.name}` };
  const json = (schema: Json): Json => ({ content: { 'application/json': { schema } } });
  const paths: Json = {};
  if (cls.key.length > 0) {
    paths[`${wmiPrefix}/${cls.name}`] = {
      get: {
        operationId: `${cls.name}.list`,
        tags: [cls.name],
        summary: `list ${cls.name}`,
        parameters: queryParams,
        responses: {
          '200': {
            description: 'instances',
            ...json({ type: 'object', properties: { value: { type: 'array', items: ref } } }),
          },
          ...errors(400, 401, 403),
        },
      },
      ...(cls.create && {
        post: {
          operationId: `${cls.name}.create`,
          tags: [cls.name],
          requestBody: json(ref),
          responses: { '201': { description: 'created', ...json(ref) }, ...errors(400, 401, 403, 409) },
        },
      }),
    };
    const ifMatch = { name: 'If-Match', in: 'header', required: false, schema: { type: 'string' } };
    paths[`${wmiPrefix}/${cls.name}(${keyPath(cls)})`] = {
      get: {
        operationId: `${cls.name}.get`,
        tags: [cls.name],
        parameters: keyParams(cls),
        responses: {
          '200': {
            description: 'the instance, lazy properties included',
            ...json({ type: 'object', properties: { value: { type: 'array', items: ref } } }),
          },
          ...errors(401, 403, 404),
        },
      },
      ...(cls.update && {
        patch: {
          operationId: `${cls.name}.update`,
          tags: [cls.name],
          parameters: [...keyParams(cls), ifMatch],
          requestBody: json(ref),
          responses: { '200': { description: 'updated', ...json(ref) }, ...errors(400, 401, 403, 404, 412) },
        },
      }),
      ...(cls.delete && {
        delete: {
          operationId: `${cls.name}.delete`,
          tags: [cls.name],
          parameters: [...keyParams(cls), ifMatch],
          responses: { '204': { description: 'deleted' }, ...errors(401, 403, 404, 412) },
        },
      }),
    };
  }
  for (const m of cls.methods ?? []) {
    const path =
      m.binding === 'instance'
        ? `${wmiPrefix}/${cls.name}(${keyPath(cls)})/AdminService.${m.name}`
        : `${wmiPrefix}/${cls.name}.${m.name}`;
    paths[path] = methodOperation(cls, m);
  }
  return paths;
}

let cached: Json | undefined;

export function openApiDocument(version: string): Json {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'sitecast AdminService',
      version,
      description: 'AdminService-compatible REST API of a sitecast site server',
    },
    security: [{ bearer: [] }],
    paths: Object.assign({}, ...apiClasses.map(classPaths)),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        ...Object.fromEntries(
          apiClasses.filter((c) => c.key.length > 0).map((c) => [c.name, classSchema(c)]),
        ),
        Error: {
          type: 'object',
          properties: {
            ReturnValue: {
              type: 'integer',
              description: 'method calls only: the code as a signed 32-bit integer',
            },
            error: {
              type: 'object',
              properties: {
                code: { type: 'string', description: 'WBEM/HRESULT, e.g. 0x80041002' },
                name: { type: 'string' },
                message: { type: 'string' },
                details: { type: 'array', items: { type: 'object' } },
              },
            },
          },
        },
      },
    },
  };
  return cached;
}
