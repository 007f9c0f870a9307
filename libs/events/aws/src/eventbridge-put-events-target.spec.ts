import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DatasetLanded, type EventBridgeEvent } from '@nightshift/contracts';
import { PublishFailedError, PutEventsPublisher } from '@nightshift/events-domain';
import { LocalEventBus, PutEventsHttpEndpoint } from '@nightshift/events-local';
import { afterEach, describe, expect, it } from 'vitest';
// The contract suite is test-only and deliberately not in events-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { describeEventPublisherContract, memoryClaimChecks } from '../../domain/src/testing/event-publisher.contract.js';
import { EventBridgeRequestError } from './errors.js';
import { EventBridgePutEventsTarget } from './eventbridge-put-events-target.js';
import { LOCAL_CREDENTIALS } from './testing/sqs-contract-subject.js';

const client = (endpoint: string) => new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });

describeEventPublisherContract('PutEventsPublisher -> EventBridgePutEventsTarget -> the embedded PutEvents endpoint', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-eventbridge-'));
  const bus = await LocalEventBus.open({ dir, rules: { ingestion: [{ name: 'landed', description: '', eventPattern: { 'detail-type': [DatasetLanded.detailType] } }] } });
  const endpoint = new PutEventsHttpEndpoint({ bus });
  const eventBridge = client(await endpoint.listen());
  const claimChecks = memoryClaimChecks();
  return {
    publisher: new PutEventsPublisher(new EventBridgePutEventsTarget(eventBridge), { claimChecks, eventBusName: 'nightshift' }),
    published: async () => {
      const events: EventBridgeEvent[] = [];
      for (let batch = await bus.receive('ingestion', 10); batch.length > 0; batch = await bus.receive('ingestion', 10)) {
        for (const m of batch) {
          await bus.ack('ingestion', m.receiptHandle);
          events.push(m.event);
        }
      }
      return events;
    },
    claimChecks,
    close: async () => {
      eventBridge.destroy();
      await endpoint.close();
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

/** An HTTP server that answers every PutEvents as AWS would fail it (what the embedded endpoint never does). */
async function failingEventBridge(answer: (call: number) => { status: number; type?: string; body?: unknown }): Promise<{ url: string; calls: () => number; server: Server }> {
  let calls = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = answer(++calls);
      const body = JSON.stringify(a.body ?? { __type: a.type, message: `${a.type} (test)` });
      res.writeHead(a.status, { 'content-type': 'application/x-amz-json-1.1', ...(a.type ? { 'x-amzn-errortype': a.type } : {}) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls, server };
}

describe('EventBridgePutEventsTarget: failures AWS can answer and the embedded endpoint does not', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('maps a throttled request to a retryable error, which the publisher retries', async () => {
    const fake = await failingEventBridge((call) => (call === 1 ? { status: 400, type: 'ThrottlingException' } : { status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] } }));
    server = fake.server;
    const publisher = new PutEventsPublisher(new EventBridgePutEventsTarget(client(fake.url)), { sleep: async () => undefined });
    await publisher.publish([{ source: 's', detailType: 'X', detail: {} }]);
    expect(fake.calls()).toBe(2);
  });

  it('maps a refused request (validation, access denied) to a non-retryable failure of its entries', async () => {
    const fake = await failingEventBridge(() => ({ status: 400, type: 'AccessDeniedException' }));
    server = fake.server;
    const target = new EventBridgePutEventsTarget(client(fake.url));
    const direct = await target.putEvents([{ Source: 's', DetailType: 'X', Detail: '{}' }]).catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(EventBridgeRequestError);
    expect(direct).toMatchObject({ retryable: false });
    expect((direct as Error).message).toContain('AccessDeniedException');
    const out = await new PutEventsPublisher(target, { sleep: async () => undefined }).publish([{ source: 's', detailType: 'X', detail: {} }]).catch((e: unknown) => e);
    expect(out).toBeInstanceOf(PublishFailedError);
    expect((out as PublishFailedError).failures.map((f) => f.errorCode)).toEqual(['ValidationException']);
    expect(fake.calls()).toBe(2);
  });

  it('surfaces a server error that outlasts the retries as retryable', async () => {
    const fake = await failingEventBridge(() => ({ status: 500, type: 'InternalException' }));
    server = fake.server;
    const publisher = new PutEventsPublisher(new EventBridgePutEventsTarget(client(fake.url)), { attempts: 3, sleep: async () => undefined });
    const out = await publisher.publish([{ source: 's', detailType: 'X', detail: {} }]).catch((e: unknown) => e);
    expect(out).toBeInstanceOf(EventBridgeRequestError);
    expect(out).toMatchObject({ retryable: true });
    expect(fake.calls()).toBe(3);
  });

  it('retries only the entries EventBridge failed with a transient code', async () => {
    const seen: number[] = [];
    const fake = await failingEventBridge((call) => {
      seen.push(call);
      return call === 1
        ? { status: 200, body: { FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] } }
        : { status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'b' }] } };
    });
    server = fake.server;
    await new PutEventsPublisher(new EventBridgePutEventsTarget(client(fake.url)), { sleep: async () => undefined }).publish([
      { source: 's', detailType: 'A', detail: {} },
      { source: 's', detailType: 'B', detail: {} },
    ]);
    expect(seen).toEqual([1, 2]);
  });
});
