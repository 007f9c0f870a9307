import { createServer } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createTable, startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '@nightshift/jobs-dynamodb';
import { DynamoDbDeliveryStore } from '@nightshift/notifications-aws';
import {
  DELIVERY_HEADER,
  NotificationDispatcher,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
  type Delivery,
  type Notification,
  type RetryPolicy,
  type Subscription,
} from '@nightshift/notifications-domain';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, WebhookReceiver, type Answer } from './testing/receiver.js';
import { WebhookChannel } from './webhook-channel.js';

const SECRET = 'whsec_test_0123456789abcdef';
/** Short backoffs: the tests assert attempts and order, not timing. */
const POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 200, attemptTimeoutMs: 5_000 };

let dynamo: EmbeddedDynamoDb;
let client: DynamoDBDocumentClient;
let tables = 0;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  dynamo = await startEmbeddedDynamoDb();
  client = createDocumentClient({ endpoint: dynamo.endpoint });
});
afterAll(async () => {
  client.destroy();
  await dynamo.close();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshStore(): Promise<DynamoDbDeliveryStore> {
  const table = `notifications-${process.pid}-${++tables}`;
  await createTable(client, table);
  return new DynamoDbDeliveryStore(client, { tableName: table });
}

async function receiver(answer?: (r: { seq: number }) => Answer): Promise<WebhookReceiver> {
  const r = await WebhookReceiver.start(answer);
  cleanups.push(() => r.close());
  return r;
}

function dispatcher(store: DynamoDbDeliveryStore, url: string, policy = POLICY): NotificationDispatcher {
  const subscription: Subscription = { name: 'ops', events: '*', target: { kind: 'webhook', url, secret: SECRET } };
  const d = new NotificationDispatcher({
    subscriptions: [subscription],
    channelFor: (s) => (s.target.kind === 'webhook' ? new WebhookChannel({ url: s.target.url, secret: s.target.secret }) : assertNever()),
    store,
    policy,
    pollIntervalMs: 50,
  });
  cleanups.push(() => d.stop());
  return d;
}

function assertNever(): never {
  throw new Error('only webhooks here');
}

let events = 0;
function aRunFailed(tenant?: string): Notification {
  return {
    eventId: `evt-${process.pid}-${++events}`,
    type: 'Run Failed',
    time: '2026-11-27T06:00:00.000Z',
    data: { runId: 'run-1', pipeline: 'nightly-tca', businessDate: '2026-11-26', reason: 'task tca[2] failed', finishedAt: '2026-11-27T06:00:00.000Z' },
    ...(tenant ? { tenant } : {}),
  };
}

async function settled(store: DynamoDbDeliveryStore, id: string): Promise<Delivery> {
  return eventually(() => store.get(id), (d) => d !== undefined && d.status !== 'PENDING', `delivery ${id} to finish`) as Promise<Delivery>;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('webhook deliveries (real HTTP receiver, embedded DynamoDB store)', () => {
  it('signs each request: the signature verifies with the secret, and not with another secret, a tampered body or timestamp', async () => {
    const hook = await receiver();
    const store = await freshStore();
    const d = dispatcher(store, hook.url);
    d.start();
    const [delivery] = await d.record(aRunFailed());
    expect((await settled(store, delivery!.deliveryId)).status).toBe('DELIVERED');

    const [request] = hook.requests;
    const signature = request!.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    const timestamp = request!.headers[TIMESTAMP_HEADER.toLowerCase()] as string;
    expect(request!.headers[DELIVERY_HEADER.toLowerCase()]).toBe(delivery!.deliveryId);
    expect(request!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(request!.body) as Record<string, unknown>;
    expect(body).toEqual({ id: delivery!.deliveryId, type: 'Run Failed', time: '2026-11-27T06:00:00.000Z', data: expect.objectContaining({ runId: 'run-1', reason: 'task tca[2] failed' }) });

    expect(verifyWebhookSignature({ secret: SECRET, body: request!.body, signature, timestamp })).toEqual({ ok: true });
    expect(verifyWebhookSignature({ secret: 'another-secret-0123456789', body: request!.body, signature, timestamp })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhookSignature({ secret: SECRET, body: request!.body.replace('run-1', 'run-2'), signature, timestamp })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhookSignature({ secret: SECRET, body: request!.body, signature, timestamp: String(Number(timestamp) - 1) })).toEqual({ ok: false, reason: 'mismatch' });
    // A replay long after: refused on its timestamp alone.
    expect(verifyWebhookSignature({ secret: SECRET, body: request!.body, signature, timestamp, now: new Date((Number(timestamp) + 3600) * 1000) })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhookSignature({ secret: SECRET, body: request!.body, signature: undefined, timestamp })).toEqual({ ok: false, reason: 'missing' });
  });

  it('retries a 500 with backoff: 500, 500, 200 is three attempts of the same delivery, ending DELIVERED', async () => {
    const hook = await receiver((r) => (r.seq <= 2 ? { status: 500, body: 'boom' } : { status: 200 }));
    const store = await freshStore();
    const d = dispatcher(store, hook.url);
    d.start();
    const [delivery] = await d.record(aRunFailed());
    const done = await settled(store, delivery!.deliveryId);

    expect(done).toMatchObject({ status: 'DELIVERED', attempts: 3, lastStatus: 200 });
    expect(done.lastError).toBeUndefined();
    expect(done.deliveredAt).toBeDefined();
    expect(hook.requests.map((r) => [r.seq, r.headers['x-nightshift-attempt'], r.headers['x-nightshift-delivery']])).toEqual([
      [1, '1', delivery!.deliveryId],
      [2, '2', delivery!.deliveryId],
      [3, '3', delivery!.deliveryId],
    ]);
    // The body is byte for byte the same on every attempt (each attempt signs it with a fresh timestamp).
    expect(new Set(hook.requests.map((r) => r.body)).size).toBe(1);
    for (const r of hook.requests) {
      expect(verifyWebhookSignature({ secret: SECRET, body: r.body, signature: r.headers['x-nightshift-signature'] as string, timestamp: r.headers['x-nightshift-timestamp'] as string }).ok).toBe(true);
    }
  });

  it('records the backoff before the next attempt, honouring Retry-After', async () => {
    const hook = await receiver(() => ({ status: 429, headers: { 'retry-after': '120' } }));
    const store = await freshStore();
    const d = dispatcher(store, hook.url, { ...POLICY, maxDelayMs: 600_000 });
    d.start();
    const [delivery] = await d.record(aRunFailed());
    const waiting = await eventually(() => store.get(delivery!.deliveryId), (x) => x?.attempts === 1 && x.lastStatus === 429, 'the first attempt to be recorded');
    expect(waiting!.status).toBe('PENDING');
    expect(Date.parse(waiting!.nextAttemptAt) - Date.parse(waiting!.updatedAt)).toBeGreaterThanOrEqual(120_000);
    expect(hook.requests).toHaveLength(1);
  });

  it('does not retry a 400: the delivery is DEAD at once, with the status and the answer visible', async () => {
    const hook = await receiver(() => ({ status: 400, body: 'unknown event type' }));
    const store = await freshStore();
    const d = dispatcher(store, hook.url);
    d.start();
    const [delivery] = await d.record(aRunFailed());
    const dead = await settled(store, delivery!.deliveryId);
    expect(dead).toMatchObject({ status: 'DEAD', attempts: 1, lastStatus: 400, lastError: 'HTTP 400: unknown event type' });
    expect(dead.deadAt).toBeDefined();
    expect(hook.requests).toHaveLength(1);
    expect((await store.list({ status: 'DEAD', limit: 10 })).items.map((x) => x.deliveryId)).toEqual([delivery!.deliveryId]);
  });

  it('retries an unreachable URL until its attempts run out, then lists it DEAD; a redelivery starts over', async () => {
    const port = await closedPort();
    const store = await freshStore();
    const d = dispatcher(store, `http://127.0.0.1:${port}/hook`);
    d.start();
    const [delivery] = await d.record(aRunFailed());
    const dead = await settled(store, delivery!.deliveryId);
    expect(dead).toMatchObject({ status: 'DEAD', attempts: POLICY.maxAttempts });
    expect(dead.lastError).toContain('ECONNREFUSED');
    expect(dead.lastStatus).toBeUndefined();
    expect((await store.list({ status: 'DEAD', limit: 10 })).items.map((x) => x.deliveryId)).toEqual([delivery!.deliveryId]);
    expect((await store.list({ status: 'DELIVERED', limit: 10 })).items).toEqual([]);

    // The receiver comes up on that port: a redelivery reaches it.
    const revived = await redeliverTo(store, d, delivery!.deliveryId, port);
    expect(revived).toMatchObject({ status: 'DELIVERED', attempts: 1, redeliveries: 1 });
  });

  it('keeps pending retries across a restart: a new dispatcher on the same store delivers them', async () => {
    const hook = await receiver((r) => (r.seq === 1 ? { status: 503 } : { status: 204 }));
    const store = await freshStore();
    // A long backoff keeps the retry pending while the first dispatcher stops.
    const first = dispatcher(store, hook.url, { ...POLICY, baseDelayMs: 400, maxDelayMs: 400 });
    first.start();
    const [delivery] = await first.record(aRunFailed());
    await eventually(() => store.get(delivery!.deliveryId), (x) => x?.attempts === 1 && x.status === 'PENDING', 'the first attempt to fail');
    await first.stop();

    const second = dispatcher(store, hook.url, { ...POLICY, baseDelayMs: 400, maxDelayMs: 400 });
    second.start();
    expect(await settled(store, delivery!.deliveryId)).toMatchObject({ status: 'DELIVERED', attempts: 2, lastStatus: 204 });
    expect(hook.requests).toHaveLength(2);
  });

  it('records an event once per subscription, however often the bus delivers it', async () => {
    const hook = await receiver();
    const store = await freshStore();
    const d = dispatcher(store, hook.url);
    const event = aRunFailed();
    const [a] = await d.record(event);
    const [b] = await d.record(event);
    expect(b!.deliveryId).toBe(a!.deliveryId);
    d.start();
    await settled(store, a!.deliveryId);
    expect((await store.list({ limit: 10 })).items).toHaveLength(1);
    expect(hook.requests).toHaveLength(1);
  });

  it("sends a tenant's notifications only to the subscriptions of that tenant (or of every tenant)", async () => {
    const hook = await receiver();
    const store = await freshStore();
    const d = new NotificationDispatcher({
      subscriptions: [
        { name: 'acme-only', events: ['Run Failed'], tenant: 'acme', target: { kind: 'webhook', url: hook.url, secret: SECRET } },
        { name: 'successes', events: ['Run Succeeded'], target: { kind: 'webhook', url: hook.url, secret: SECRET } },
      ],
      channelFor: (s) => (s.target.kind === 'webhook' ? new WebhookChannel({ url: s.target.url, secret: s.target.secret }) : assertNever()),
      store,
      policy: POLICY,
    });
    expect(await d.record(aRunFailed('globex'))).toEqual([]);
    expect((await d.record(aRunFailed('acme'))).map((x) => x.subscription)).toEqual(['acme-only']);
  });
});

/** Puts a DEAD delivery back with a receiver listening on `port`, and waits for the outcome. */
async function redeliverTo(store: DynamoDbDeliveryStore, d: NotificationDispatcher, id: string, port: number): Promise<Delivery> {
  const { createServer: createHttpServer } = await import('node:http');
  const server = createHttpServer((_req, res) => res.writeHead(200).end());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  await d.redeliver(id);
  return settled(store, id);
}
