import 'reflect-metadata';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ApiController } from '../api.controller.js';
import { MetaController } from './meta.controller.js';
import { NotificationsController } from './notifications.controller.js';
import { buildOpenApiDocument, openApiPath } from './openapi.js';
import { ROUTES } from './routes.js';

/** Paths Nest serves that are parts of the reference page, not API routes. */
const PAGE_ASSETS = ['GET /docs/init.js', 'GET /docs/assets/{name}'];

/** Every `METHOD /path` the REST controllers serve, read from Nest's route metadata. */
function servedRoutes(): string[] {
  const served: string[] = [];
  for (const controller of [ApiController, MetaController, NotificationsController]) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '/').replace(/^\/?/, '/').replace(/\/$/, '');
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = (controller.prototype as unknown as Record<string, unknown>)[name];
      if (typeof handler !== 'function' || name === 'constructor') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (path === undefined || method === undefined) continue;
      served.push(`${RequestMethod[method]} ${openApiPath(`${base}/${path.replace(/^\//, '')}`)}`);
    }
  }
  return served.sort();
}

describe('the OpenAPI document', () => {
  const document = buildOpenApiDocument('0.0.0-test');

  it('documents every route the controllers serve, and nothing they do not', () => {
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(servedRoutes().filter((r) => !PAGE_ASSETS.includes(r)));
    expect(servedRoutes()).toEqual(expect.arrayContaining(PAGE_ASSETS));
  });

  it('is OpenAPI 3.1 whose schemas are valid JSON Schema 2020-12, every $ref resolving', () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'https://nightshift.test/openapi.json', ...document });
    const refs = JSON.stringify(document).match(/"\$ref":"([^"]+)"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of new Set(refs.map((r) => r.slice('"$ref":"'.length, -1)))) {
      expect(() => ajv.compile({ $ref: `https://nightshift.test/openapi.json${ref}` }), ref).not.toThrow();
    }
  });

  it('gives every operation an id, a summary, a success answer and problem answers; every authenticated one 401 and 403', () => {
    const ids = new Set<string>();
    for (const route of Object.values(ROUTES)) {
      const operation = document.paths[openApiPath(route.path)]?.[route.method.toLowerCase()] as { operationId: string; responses: Record<string, { content?: Record<string, unknown> }> };
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(ids.has(operation.operationId)).toBe(false);
      ids.add(operation.operationId);
      expect(operation.responses[String(route.success.status)]).toBeDefined();
      expect(Object.keys(operation.responses['500']!.content!)).toEqual(['application/problem+json']);
      if (route.role !== 'public') expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403', '503']));
    }
  });

  it('documents the query filters of GET /runs, each with its schema', () => {
    const params = (document.paths['/runs']!['get'] as { parameters: Array<{ name: string; in: string }> }).parameters.map((p) => `${p.in}:${p.name}`);
    expect(params).toEqual(expect.arrayContaining(['query:status', 'query:pipeline', 'query:businessDate', 'query:businessDateFrom', 'query:businessDateTo', 'query:correlationId', 'query:tenant', 'query:limit', 'query:cursor']));
  });
});
