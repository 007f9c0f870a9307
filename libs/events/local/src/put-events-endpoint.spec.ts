import { EventBridgeClient, ListRulesCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SERVICE_RULES } from '@nightshift/contracts';
import { LocalEventBus } from './local-event-bus.js';
import { PutEventsHttpEndpoint } from './put-events-endpoint.js';
import { aDatasetLanded, aDatasetRegistered, tempDir } from './testing/fixtures.js';

let cleanup: () => Promise<void>;
let bus: LocalEventBus;
let endpoint: PutEventsHttpEndpoint;
let sdk: EventBridgeClient;

beforeEach(async () => {
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  bus = await LocalEventBus.open({ dir: tmp.dir, rules: SERVICE_RULES });
  endpoint = new PutEventsHttpEndpoint({ bus, maxBodyBytes: 512 * 1024 });
  const url = await endpoint.listen();
  sdk = new EventBridgeClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  sdk.destroy();
  await endpoint.close();
  await bus.close();
  await cleanup();
});

function nothingEnqueued(): void {
  for (const q of bus.queueNames) expect(bus.stats(q)).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
}

async function post(body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(endpoint.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents', ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('PutEventsHttpEndpoint with the unmodified AWS SDK', () => {
  it('accepts PutEventsCommand and routes the events by the rules', async () => {
    const landed = aDatasetLanded();
    const out = await sdk.send(
      new PutEventsCommand({
        Entries: [
          { ...landed, Time: new Date('2024-05-01T22:00:00Z'), EventBusName: 'nightshift' },
          aDatasetRegistered('evt-42'),
        ],
      }),
    );
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.FailedEntryCount).toBe(0);
    const [landedId, registeredId] = (out.Entries ?? []).map((e) => e.EventId);
    expect(landedId).toMatch(/^[0-9a-f-]{36}$/);

    const [ingested] = await bus.receive('ingestion', 10);
    expect(ingested.event).toMatchObject({
      id: landedId,
      'detail-type': 'Dataset Landed',
      source: 'oms.upstream',
      time: '2024-05-01T22:00:00Z',
      detail: JSON.parse(landed.Detail!),
    });
    const [planned] = await bus.receive('planner', 10);
    expect(planned.event.id).toBe(registeredId);
    expect(planned.event.detail).toMatchObject({ metadata: { eventId: 'evt-42' } });
    expect(await bus.receive('reporting', 10)).toEqual([]);
  });

  it('returns per-entry errors through the SDK and keeps the good entries', async () => {
    const out = await sdk.send(new PutEventsCommand({ Entries: [aDatasetLanded({ Detail: '{oops' }), aDatasetLanded()] }));
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
    expect(out.Entries?.[1].EventId).toBeDefined();
    expect(bus.stats('ingestion').visible).toBe(1);
  });

  it('gives the SDK a ValidationException for more than 10 entries, and enqueues nothing', async () => {
    const error = await sdk
      .send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => aDatasetLanded()) }))
      .then(() => undefined, (e: unknown) => e as Error & { $metadata: { httpStatusCode?: number }; $fault: string });
    expect(error?.name).toBe('ValidationException');
    expect(error?.message).toBe(
      "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: " +
        'Member must have length less than or equal to 10',
    );
    expect(error?.$metadata.httpStatusCode).toBe(400);
    expect(error?.$fault).toBe('client');
    nothingEnqueued();
  });

  it('answers other EventBridge operations with UnknownOperationException', async () => {
    const error = await sdk.send(new ListRulesCommand({})).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('UnknownOperationException');
    expect(error?.message).toContain('AWSEvents.ListRules');
  });
});

describe('PutEventsHttpEndpoint wire errors', () => {
  it('refuses a body that is not JSON (SerializationException) and changes nothing', async () => {
    const res = await post('{"Entries": [');
    expect(res.status).toBe(400);
    expect(res.json.__type).toBe('SerializationException');
    nothingEnqueued();
  });

  it('refuses wrongly typed fields as a whole request, even next to good entries', async () => {
    const good = aDatasetLanded();
    const res = await post(JSON.stringify({ Entries: [good, { ...good, Resources: 'not-a-list' }] }));
    expect(res).toEqual({ status: 400, json: { __type: 'SerializationException', message: 'Entries[1].Resources must be a list of strings' } });
    nothingEnqueued();
  });

  it('refuses a missing Entries list and an oversized body', async () => {
    const missing = await post('{}');
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ __type: 'ValidationException', message: expect.stringContaining("at 'entries'") });
    const big = await post(JSON.stringify({ Entries: [aDatasetLanded({ Detail: JSON.stringify({ x: 'y'.repeat(600 * 1024) }) })] }));
    expect(big.status).toBe(413);
    nothingEnqueued();
  });

  it('refuses unknown targets and other content types', async () => {
    expect((await post('{"Entries":[]}', { 'x-amz-target': 'AWSEvents.DeleteRule' })).json.__type).toBe('UnknownOperationException');
    expect((await post('{"Entries":[]}', { 'x-amz-target': '' })).json.__type).toBe('UnknownOperationException');
    expect((await post('{"Entries":[]}', { 'content-type': 'text/plain' })).json.__type).toBe('SerializationException');
    const get = await fetch(endpoint.url);
    expect(get.status).toBe(404);
    nothingEnqueued();
  });

  it('accepts plain JSON requests with Time in epoch seconds', async () => {
    const res = await post(JSON.stringify({ Entries: [{ ...aDatasetLanded(), Time: 1714600800 }] }));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ FailedEntryCount: 0 });
    const [m] = await bus.receive('ingestion');
    expect(m.event.time).toBe('2024-05-01T22:00:00Z');
  });
});
