import 'reflect-metadata';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DirectoryJobLogs, LocalComputeEnvironment } from '@nightshift/compute-local';
import { SERVICE_RULES } from '@nightshift/contracts';
import { LocalEventBus } from '@nightshift/events-local';
import { createDocumentClient, createTable, DynamoDbJobStore, startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '@nightshift/jobs-dynamodb';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { ReportingModule } from '../../app.module.js';
import { hashApiKey, newApiKey, type ApiKeysFile } from '../../auth/api-keys.js';
import { reportingHttpAdapter } from '../../api/http-adapter.js';
import { reportingConfigSchema } from '../../config.js';

/*
 * Reporting's module over real HTTP for the GraphQL specs: the embedded DynamoDB, a directory
 * object store, the durable local bus, the local compute environment, and an API keys file with
 * two tenants (acme, globex: viewer, operator, and an admin bound to acme) and a tenantless admin.
 * The store's DocumentClient counts the requests it sends (`requests`), so a spec can bound them.
 */

export const TENANTS = ['acme', 'globex'] as const;
export type Tenant = (typeof TENANTS)[number];
export const otherTenant = (t: Tenant): Tenant => (t === 'acme' ? 'globex' : 'acme');

export interface Keys {
  acme: { viewer: string; operator: string; admin: string };
  globex: { viewer: string; operator: string };
  /** A tenantless platform admin. */
  admin: string;
}

/** A GraphQL answer over HTTP. */
export interface GraphQLAnswer<D = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data: D | null | undefined;
  errors: Array<{ message: string; path?: Array<string | number>; extensions: { code: string; status: number; problem: { type: string; title: string; status: number; detail: string; problems?: unknown[] } } }> | undefined;
}

export interface ReportingUnderTest {
  /** `http://127.0.0.1:<port>` */
  url: string;
  app: INestApplication;
  keys: Keys;
  store: DynamoDbJobStore;
  objects: DirectoryObjectStore;
  bus: LocalEventBus;
  /** Command names the store's client sent, in order (clear it to count a window). */
  requests: string[];
  gql<D = Record<string, unknown>>(query: string, options?: { token?: string; variables?: Record<string, unknown> }): Promise<GraphQLAnswer<D>>;
  close(): Promise<void>;
}

/** Wraps the client's `send` so every request is counted by command name. */
function counted(client: DynamoDBDocumentClient, requests: string[]): DynamoDBDocumentClient {
  const send = client.send.bind(client) as (command: object, ...rest: unknown[]) => Promise<unknown>;
  (client as unknown as { send: typeof send }).send = (command, ...rest) => {
    requests.push(command.constructor.name);
    return send(command, ...rest);
  };
  return client;
}

export async function startReporting(): Promise<ReportingUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-graphql-'));
  const logDir = join(dir, 'logs');
  const objectsDir = join(dir, 'objects');
  let dynamo: EmbeddedDynamoDb | undefined;
  let client: DynamoDBDocumentClient | undefined;
  let bus: LocalEventBus | undefined;
  let app: INestApplication | undefined;
  const close = async (): Promise<void> => {
    await app?.close();
    await bus?.close();
    client?.destroy();
    await dynamo?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    dynamo = await startEmbeddedDynamoDb();
    const requests: string[] = [];
    client = counted(createDocumentClient({ endpoint: dynamo.endpoint }), requests);
    const tableName = 'reporting-graphql';
    await createTable(client, tableName);
    bus = await LocalEventBus.open({ dir: join(dir, 'bus'), rules: SERVICE_RULES });
    const compute = new LocalComputeEnvironment({ vcpus: 1, memoryMiB: 256, emit: async () => undefined, logDir });

    const keys: Keys = {
      acme: { viewer: newApiKey(), operator: newApiKey(), admin: newApiKey() },
      globex: { viewer: newApiKey(), operator: newApiKey() },
      admin: newApiKey(),
    };
    const file: ApiKeysFile = {
      keys: [
        { id: 'acme-viewer', keyHash: hashApiKey(keys.acme.viewer), role: 'viewer', tenant: 'acme' },
        { id: 'acme-operator', keyHash: hashApiKey(keys.acme.operator), role: 'operator', tenant: 'acme' },
        { id: 'acme-admin', keyHash: hashApiKey(keys.acme.admin), role: 'admin', tenant: 'acme' },
        { id: 'globex-viewer', keyHash: hashApiKey(keys.globex.viewer), role: 'viewer', tenant: 'globex' },
        { id: 'globex-operator', keyHash: hashApiKey(keys.globex.operator), role: 'operator', tenant: 'globex' },
        { id: 'platform-admin', keyHash: hashApiKey(keys.admin), role: 'admin' },
      ],
    };
    const keysFile = join(dir, 'api-keys.json');
    await writeFile(keysFile, JSON.stringify(file), { mode: 0o600 });

    // The notification dispatcher's poll (every 5 s by default) would send Queries through the counted
    // client in the middle of a spec's count: after its pass at start, once every 10 minutes only (the most it allows).
    const config = reportingConfigSchema.parse({ tableName, objectStoreDir: objectsDir, httpPort: 0, apiKeysFile: keysFile, notificationPollMs: 600_000 });
    const { module } = ReportingModule.compose(config, { mode: 'local', dynamo: client, bus, compute, logs: new DirectoryJobLogs(logDir) });
    app = await NestFactory.create(module, reportingHttpAdapter(config), { logger: false });
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');

    return {
      url,
      app,
      keys,
      store: new DynamoDbJobStore(client, { tableName }),
      objects: new DirectoryObjectStore(objectsDir),
      bus,
      requests,
      async gql<D>(query: string, options: { token?: string; variables?: Record<string, unknown> } = {}): Promise<GraphQLAnswer<D>> {
        const res = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
          body: JSON.stringify({ query, ...(options.variables ? { variables: options.variables } : {}) }),
        });
        const body = (await res.json()) as { data?: D | null; errors?: GraphQLAnswer['errors'] };
        return { status: res.status, headers: res.headers, data: body.data, errors: body.errors };
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
