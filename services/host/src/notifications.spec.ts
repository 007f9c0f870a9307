import { writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DatasetLanded } from '@nightshift/contracts';
import { noopPipeline } from '@nightshift/jobs-domain';
import { verifyWebhookSignature } from '@nightshift/notifications-domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedPlatform } from './embedded-platform.js';
import { ensureSampleDay } from './sample-day.js';
import { apiFetch } from './testing/api-fetch.js';
import { startTestPlatform, type TestPlatform } from './testing/test-platform.js';
import { waitFor } from './testing/wait.js';

const SECRET = 'e2e-webhook-secret-0123456789';
const DATASET = 'notify-executions';
const PIPELINE = 'notify-noop';

/** One request the webhook receiver got: the raw body, as a receiver verifies it. */
interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: { id: string; type: string; time: string; data: Record<string, unknown> };
}

/** A loopback port nothing listens on: the `dead-end` subscription's, so its deliveries die. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('notifications on the embedded platform (webhooks file, real HTTP receiver)', () => {
  let started: TestPlatform | undefined;
  let platform: EmbeddedPlatform;
  let events: EventBridgeClient;
  let receiver: Server;
  const received: Received[] = [];

  beforeAll(async () => {
    receiver = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push({ headers: req.headers, body, json: JSON.parse(body) as Received['json'] });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/nightshift`;
    started = await startTestPlatform({
      prefix: 'nightshift-notify-',
      beforeStart: async (home) => {
        await writeFile(join(home, 'ops.secret'), `${SECRET}\n`);
        const webhooksFile = join(home, 'webhooks.yaml');
        await writeFile(
          webhooksFile,
          [
            'subscriptions:',
            '  - name: ops',
            `    url: ${url}`,
            '    secretFile: ops.secret',
            "    events: '*'",
            '  - name: dead-end',
            `    url: http://127.0.0.1:${await closedPort()}/hook`,
            '    secret: dead-end-secret-0123456789',
            '    events: [Dataset Rejected]',
          ].join('\n'),
        );
        return { webhooksFile };
      },
      extraPipelines: [noopPipeline(PIPELINE, 2, { trigger: DATASET })],
      visibilityTimeoutMs: 10_000,
      // Two attempts, short backoffs: a dead delivery is dead within a second.
      notificationSettings: { notificationMaxAttempts: 2, notificationBackoffMs: 20, notificationMaxBackoffMs: 100, notificationPollMs: 200 },
    });
    ({ platform, events } = started);
  });

  afterAll(async () => {
    await started?.stop();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  async function landed(detail: Record<string, unknown>): Promise<string> {
    const out = await events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify(detail) }] }));
    expect(out.FailedEntryCount).toBe(0);
    return out.Entries![0]!.EventId!;
  }

  function notificationsWhere(which: (r: Received) => boolean, count = 1, what = 'the notification'): Promise<Received[]> {
    return waitFor(
      () => received.filter(which),
      (found) => found.length >= count,
      { what, timeoutMs: 90_000 },
    );
  }

  it('notifies Run Succeeded, signed, when a landing runs to success', async () => {
    const day = (await ensureSampleDay(platform.objects, { businessDate: '2026-11-20', seed: 3, desks: ['cash'], ordersPerDesk: 10, quotesPerSymbol: 20, symbols: 2 })).detail;
    const correlationId = await landed({ ...day, dataset: DATASET });
    const runId = await waitFor(
      async () => (await platform.store.listRuns({ limit: 50 })).items.find((r) => r.correlationId === correlationId)?.runId,
      (id) => id !== undefined,
      { what: `the run of the ${DATASET} landing` },
    );
    const [notification] = await notificationsWhere((r) => r.json.type === 'Run Succeeded' && r.json.data['runId'] === runId, 1, `Run Succeeded of ${runId}`);
    expect(notification!.json.data).toMatchObject({ runId, pipeline: PIPELINE, businessDate: '2026-11-20' });
    expect(notification!.headers['x-nightshift-delivery']).toBe(notification!.json.id);
    expect(notification!.headers['x-nightshift-event']).toBe('Run Succeeded');
    const check = { body: notification!.body, signature: notification!.headers['x-nightshift-signature'] as string, timestamp: notification!.headers['x-nightshift-timestamp'] as string };
    expect(verifyWebhookSignature({ secret: SECRET, ...check })).toEqual({ ok: true });
    expect(verifyWebhookSignature({ secret: 'dead-end-secret-0123456789', ...check }).ok).toBe(false);

    const delivery = await waitFor(
      async () => (await apiFetch(`${platform.apiUrl}/notifications/deliveries/${notification!.json.id}`)).json() as Promise<{ status: string; attempts: number; lastStatus?: number; body: string }>,
      (d) => d.status === 'DELIVERED',
      { what: 'the delivery to be recorded DELIVERED' },
    );
    expect(delivery).toMatchObject({ status: 'DELIVERED', attempts: 1, lastStatus: 204, subscription: 'ops', type: 'Run Succeeded', body: notification!.body });
  });

  it('notifies Dataset Rejected for a rejected landing; a subscriber that cannot be reached ends DEAD, listed by the API and redeliverable', async () => {
    const landedEventId = await landed({ dataset: DATASET, businessDate: 'not-a-date', files: [] });
    const [notification] = await notificationsWhere((r) => r.json.type === 'Dataset Rejected' && r.json.data['landedEventId'] === landedEventId, 1, `Dataset Rejected of ${landedEventId}`);
    expect(notification!.json.data['reasons']).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'detail.businessDate' })]));

    type Page = { items: Array<{ deliveryId: string; subscription: string; eventId: string; status: string; attempts: number; lastError?: string; target: string }> };
    const dead = await waitFor(
      async () => (await (await apiFetch(`${platform.apiUrl}/notifications/deliveries?status=DEAD`)).json()) as Page,
      (page) => page.items.some((d) => d.subscription === 'dead-end'),
      { what: 'the dead-end delivery to be listed DEAD' },
    );
    const deadEnd = dead.items.find((d) => d.subscription === 'dead-end')!;
    expect(deadEnd).toMatchObject({ status: 'DEAD', attempts: 2 });
    expect(deadEnd.lastError).toContain('ECONNREFUSED');
    expect(dead.items.every((d) => d.status === 'DEAD')).toBe(true);

    const redelivered = await apiFetch(`${platform.apiUrl}/notifications/deliveries/${deadEnd.deliveryId}/redeliver`, { method: 'POST' });
    expect(redelivered.status).toBe(202);
    expect(await redelivered.json()).toMatchObject({ deliveryId: deadEnd.deliveryId, status: 'PENDING', attempts: 0, redeliveries: 1 });
    // Only a DEAD delivery can be put back: the delivered one is a conflict.
    const again = await apiFetch(`${platform.apiUrl}/notifications/deliveries/${notification!.json.id}/redeliver`, { method: 'POST' });
    expect([409, 404]).toContain(again.status);

    const subscriptions = (await (await apiFetch(`${platform.apiUrl}/notifications/subscriptions`)).json()) as { items: Array<Record<string, unknown>> };
    expect(subscriptions.items.map((s) => s['name'])).toEqual(['ops', 'dead-end']);
    expect(JSON.stringify(subscriptions)).not.toContain('secret');
    expect((await fetch(`${platform.apiUrl}/notifications/deliveries`)).status).toBe(401);
  });

  it('notifies Message Dead-Lettered when a message lands in a DLQ, once per queue, and never about itself', async () => {
    const out = await platform.bus.putEvents([{ Source: 'nightshift.planner', DetailType: 'Run Succeeded', Detail: JSON.stringify({ metadata: { eventId: 'broken' }, data: {} }) }]);
    const eventId = (out.Entries[0] as { EventId: string }).EventId;
    const deadLettered = await notificationsWhere(
      (r) => r.json.type === 'Message Dead-Lettered' && r.json.data['eventId'] === eventId,
      2,
      `Message Dead-Lettered of ${eventId} from the planner and reporting queues`,
    );
    expect(deadLettered.map((r) => r.json.data['queue']).sort()).toEqual(['planner', 'reporting']);
    expect(deadLettered[0]!.json.data).toMatchObject({ eventDetailType: 'Run Succeeded', eventSource: 'nightshift.planner', deadLetterQueue: `${String(deadLettered[0]!.json.data['queue'])}-dlq` });
    // Every queue handled what it had, and the DLQs hold just the broken event's two copies: no announcement was dead-lettered in turn.
    await waitFor(
      () => ['ingestion', 'planner', 'reporting'].map((q) => platform.bus.stats(q)),
      (stats) => stats.every((s) => s.visible === 0 && s.inFlight === 0),
      { what: 'the service queues to drain' },
    );
    expect(platform.bus.listDeadLetters('reporting').filter((d) => d.event['detail-type'] === 'Message Dead-Lettered')).toEqual([]);
  });
});
