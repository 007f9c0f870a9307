import { PROBLEM_MEDIA_TYPE, PROBLEM_TYPES, problemSchema } from '@nightshift/api-contract';
import { z } from 'zod';
import { ROUTES, type ApiRoute } from './routes.js';

/*
 * The OpenAPI 3.1 document of the REST API, generated from the route table (routes.ts) and its zod
 * schemas: JSON Schema 2020-12 (OpenAPI 3.1's dialect) by zod's own converter. Schemas that carry
 * an `id` (`.meta({ id })`) become components; request parts are converted as inputs (defaults
 * optional), answers as outputs.
 */

type JsonSchema = Record<string, unknown>;
type OpenApiDocument = { openapi: string; info: Record<string, unknown>; paths: Record<string, Record<string, unknown>>; components: Record<string, unknown>; [k: string]: unknown };

const COMPONENT_REF = '#/components/schemas/';

/** `/runs/:id` -> `/runs/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z]+)/g, '{$1}');
}

/** The document for `routes` (all of ROUTES by default), `version` being the service's version. */
export function buildOpenApiDocument(version: string, routes: readonly ApiRoute[] = Object.values(ROUTES)): OpenApiDocument {
  const components: Record<string, JsonSchema> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    // Named schemas (meta id) come out as $defs; they become components referenced from everywhere they appear.
    const result = toComponentRefs(z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', cycles: 'ref', reused: 'inline' })) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    const { $schema: _s, $defs, ...rest } = result;
    for (const [name, def] of Object.entries($defs ?? {})) components[name] ??= stripId(def);
    const own = z.globalRegistry.get(schema)?.id;
    if (typeof own === 'string') {
      components[own] ??= stripId(rest);
      return { $ref: `${COMPONENT_REF}${own}` };
    }
    return stripId(rest);
  };

  const problemRef = convert(problemSchema, 'output');
  const problemResponse = (description: string) => ({ description, content: { [PROBLEM_MEDIA_TYPE]: { schema: problemRef } } });

  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
      if (!schema) continue;
      const json = convert(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, property] of Object.entries(json.properties ?? {})) {
        const { description, ...rest } = property;
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (json.required ?? []).includes(name),
          ...(typeof description === 'string' ? { description } : {}),
          schema: rest,
          ...(name === 'status' && where === 'query' ? { style: 'form', explode: false } : {}),
        });
      }
    }
    if (route.idempotencyKey) {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description: 'Makes a retried request name the same run; reused with another body it is refused (422). Kept 24 hours.',
        schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
      });
    }
    const success = route.success;
    const responses: Record<string, unknown> = {
      [success.status]: {
        description: success.description,
        ...(success.location ? { headers: { Location: { description: 'Where the run is', schema: { type: 'string' } } } } : {}),
        content: success.schema ? { 'application/json': { schema: convert(success.schema, 'output') } } : nonJsonContent(success.contentType),
      },
    };
    if (route.params || route.query || route.body || route.idempotencyKey) responses['400'] = problemResponse(PROBLEM_TYPES[400].title);
    if (route.role !== 'public') {
      responses['401'] = problemResponse('No valid bearer token (`WWW-Authenticate: Bearer`)');
      responses['403'] = problemResponse(`The token's role is below ${route.role}, or it names another tenant`);
    }
    for (const status of route.errors ?? []) responses[String(status)] = problemResponse(PROBLEM_TYPES[status].title);
    if (route.role !== 'public') responses['503'] = problemResponse(PROBLEM_TYPES[503].title);
    responses['500'] = problemResponse(PROBLEM_TYPES[500].title);

    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      ...(route.role === 'public' ? { security: [] } : { 'x-nightshift-role': route.role }),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: false, content: { 'application/json': { schema: convert(route.body, 'input') } } } } : {}),
      responses,
    };
    (paths[openApiPath(route.path)] ??= {})[route.method.toLowerCase()] = operation;
  }

  return {
    openapi: '3.1.1',
    info: {
      title: 'nightshift REST API',
      version,
      description:
        'Runs, reports, datasets, pipelines and dead letters of a nightshift platform. Every route but /health takes `Authorization: Bearer <API key or JWT>`; roles viewer < operator < admin; a tenant-bound token reads only its tenant. Errors are RFC 9457 problem details (`application/problem+json`). Lists are paged with an opaque `cursor`.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    tags: [
      { name: 'runs', description: 'Pipeline runs: request, read, cancel, retry, logs' },
      { name: 'backfills', description: 'One run of a pipeline per business date of a range, a few at a time' },
      { name: 'reports', description: 'Published reports' },
      { name: 'datasets', description: 'Registered dataset versions and landing outcomes' },
      { name: 'pipelines', description: 'Pipeline definitions' },
      { name: 'operations', description: 'Dead-letter queues' },
      { name: 'meta', description: 'Health, this document' },
    ],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (`nsk_...`) or a JWT from the configured issuer' } },
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}

/** A non-JSON answer's media types: text as a string, anything else (Parquet) as bytes of that media type. */
function nonJsonContent(contentType: string | readonly string[] = 'text/plain'): Record<string, { schema: JsonSchema }> {
  const types: readonly string[] = typeof contentType === 'string' ? [contentType] : contentType;
  return Object.fromEntries(types.map((t) => [t, { schema: t.startsWith('text/') ? { type: 'string' } : { type: 'string', contentMediaType: t } }]));
}

function stripId(schema: JsonSchema): JsonSchema {
  const { $id: _id, $schema: _schema, ...rest } = schema;
  return rest;
}

/** Every `#/$defs/<name>` reference as `#/components/schemas/<name>`. */
function toComponentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toComponentRefs);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? `${COMPONENT_REF}${v.slice('#/$defs/'.length)}` : toComponentRefs(v)]),
  );
}
