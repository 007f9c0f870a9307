import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchEntryIdsNotDistinct,
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  EmptyBatchRequest,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  InvalidAttributeName,
  InvalidBatchEntryId,
  InvalidMessageContents,
  ListQueuesCommand,
  MessageNotInflight,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SQSServiceException,
  TooManyEntriesInBatchRequest,
  UnsupportedOperation,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SERVICE_RULES, type EventBridgeEvent } from '@nightshift/contracts';
import { LocalEventBus } from './local-event-bus.js';
import { DEAD_LETTER_REASON_ATTRIBUTE, DEAD_LETTERED_AT_ATTRIBUTE, SqsHttpEndpoint } from './sqs-endpoint.js';
import { aDatasetLanded, tempDir } from './testing/fixtures.js';

let cleanup: () => Promise<void>;
let bus: LocalEventBus;
let endpoint: SqsHttpEndpoint;
let sqs: SQSClient;
let url: string;

const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

beforeEach(async () => {
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  bus = await LocalEventBus.open({ dir: tmp.dir, rules: SERVICE_RULES, visibilityTimeoutMs: 30_000, maxReceiveCount: 3 });
  endpoint = new SqsHttpEndpoint({ bus });
  url = await endpoint.listen();
  sqs = new SQSClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
});

afterEach(async () => {
  sqs.destroy();
  await endpoint.close();
  await bus.close();
  await cleanup();
});

const queueUrl = (name: string) => `${url}/000000000000/${name}`;

async function landOne(): Promise<EventBridgeEvent> {
  const out = await bus.putEvents([aDatasetLanded()]);
  const [stored] = await bus.receive('ingestion', 1, { visibilityTimeoutMs: 0 });
  expect(stored?.event.id).toBe(out.Entries[0] && 'EventId' in out.Entries[0] ? out.Entries[0].EventId : undefined);
  return stored!.event;
}

async function receiveOne(name = 'ingestion', extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}) {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl(name), WaitTimeSeconds: 5, ...extra }));
  expect(out.Messages).toHaveLength(1);
  return out.Messages![0]!;
}

async function raw(target: string, body: unknown, contentType = 'application/x-amz-json-1.0') {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType, 'x-amz-target': target }, body: JSON.stringify(body) });
  return { status: res.status, queryError: res.headers.get('x-amzn-query-error'), json: (await res.json()) as Record<string, unknown> };
}

async function rejection(p: Promise<unknown>): Promise<SQSServiceException> {
  try {
    await p;
  } catch (e) {
    return e as SQSServiceException;
  }
  throw new Error('expected the call to fail');
}

describe('SqsHttpEndpoint with the unmodified SDK', () => {
  it('serves a queue as EventBridge feeds it: body, MD5, system attributes, delete', async () => {
    const event = await landOne();
    const before = Date.now();
    const m = await receiveOne('ingestion', { MessageSystemAttributeNames: ['All'], MaxNumberOfMessages: 10 });
    // The SDK has checked MD5OfBody already; the body is the event's JSON, field order as EventBridge writes it.
    expect(m.Body).toBe(JSON.stringify(event));
    expect(Object.keys(JSON.parse(m.Body!))).toEqual(['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail']);
    expect(m.MD5OfBody).toBe(createHash('md5').update(m.Body!).digest('hex'));
    expect(m.Attributes).toMatchObject({ ApproximateReceiveCount: '2', SenderId: '000000000000' });
    expect(Number(m.Attributes!.SentTimestamp)).toBeLessThanOrEqual(before);
    expect(Number(m.Attributes!.ApproximateFirstReceiveTimestamp)).toBeLessThanOrEqual(Date.now());
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl('ingestion'), ReceiptHandle: m.ReceiptHandle }));
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
  });

  it('accepts SendMessage(Batch) of EventBridge events and refuses other bodies', async () => {
    const event = await landOne();
    const second = { ...event, id: 'e2b1c7f0-0000-4000-8000-000000000002' };
    await bus.ack('ingestion', (await bus.receive('ingestion', 1))[0]!.receiptHandle);
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl('planner'), MessageBody: JSON.stringify(event) }));
    expect(sent.MessageId).toEqual(expect.any(String));
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl('planner'),
        Entries: [
          { Id: 'good', MessageBody: JSON.stringify(second) },
          { Id: 'bad', MessageBody: '{"not":"an event"}' },
        ],
      }),
    );
    expect(batch.Successful?.map((s) => s.Id)).toEqual(['good']);
    expect(batch.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'InvalidMessageContents', SenderFault: true })]);
    const received = await bus.receive('planner', 10);
    expect(received.map((r) => r.event.id).sort()).toEqual([event.id, second.id].sort());

    const refused = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl('planner'), MessageBody: 'hello' })));
    expect(refused).toBeInstanceOf(InvalidMessageContents);
  });

  it('answers GetQueueUrl, ListQueues and GetQueueAttributes with the redrive policy', async () => {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'planner-dlq' }));
    expect(QueueUrl).toBe(queueUrl('planner-dlq'));
    const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'plan' }));
    expect(listed.QueueUrls).toEqual([queueUrl('planner'), queueUrl('planner-dlq')]);
    const paged = await sqs.send(new ListQueuesCommand({ MaxResults: 1 }));
    expect(paged.QueueUrls).toHaveLength(1);
    const next = await sqs.send(new ListQueuesCommand({ MaxResults: 1, NextToken: paged.NextToken }));
    expect(next.QueueUrls![0]! > paged.QueueUrls![0]!).toBe(true);

    await landOne();
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl('ingestion'), AttributeNames: ['All'] }));
    expect(Attributes).toMatchObject({
      ApproximateNumberOfMessages: '1',
      ApproximateNumberOfMessagesNotVisible: '0',
      QueueArn: 'arn:aws:sqs:local:000000000000:ingestion',
      VisibilityTimeout: '30',
    });
    expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: 'arn:aws:sqs:local:000000000000:ingestion-dlq', maxReceiveCount: 3 });
  });

  it('treats <queue>-dlq as a queue: SendMessage dead-letters with the reason, ReceiveMessage and DeleteMessage drain it', async () => {
    const event = await landOne();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl('ingestion-dlq'),
        MessageBody: JSON.stringify(event),
        MessageAttributes: { [DEAD_LETTER_REASON_ATTRIBUTE]: { DataType: 'String', StringValue: 'BadDataset: unknown table' } },
      }),
    );
    expect(bus.listDeadLetters('ingestion')).toEqual([expect.objectContaining({ event, reason: 'BadDataset: unknown table' })]);
    const dead = await receiveOne('ingestion-dlq', { MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['DeadLetterQueueSourceArn'] });
    expect(JSON.parse(dead.Body!)).toEqual(event);
    expect(dead.MessageAttributes?.[DEAD_LETTER_REASON_ATTRIBUTE]).toEqual({ DataType: 'String', StringValue: 'BadDataset: unknown table' });
    expect(dead.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(dead.Attributes).toEqual({ DeadLetterQueueSourceArn: 'arn:aws:sqs:local:000000000000:ingestion' });
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl('ingestion-dlq'), AttributeNames: ['ApproximateNumberOfMessagesNotVisible', 'RedrivePolicy'] }),
    );
    expect(Attributes).toEqual({ ApproximateNumberOfMessagesNotVisible: '1' });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl('ingestion-dlq'), ReceiptHandle: dead.ReceiptHandle }));
    expect(bus.listDeadLetters('ingestion')).toEqual([]);
  });

  it('returns when each dead letter was dead-lettered; a moved one keeps the SentTimestamp of its source queue', async () => {
    const moved = await landOne();
    const enqueued = Date.now();
    // landOne received it once; two more deliveries, then the next receive moves it (maxReceiveCount 3).
    await bus.receive('ingestion', 1, { visibilityTimeoutMs: 0 });
    await bus.receive('ingestion', 1, { visibilityTimeoutMs: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const movedAfter = Date.now();
    expect(await bus.receive('ingestion', 1)).toEqual([]);
    const sent = { ...moved, id: 'sent-to-the-dlq' };
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl('ingestion-dlq'), MessageBody: JSON.stringify(sent) }));
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl('ingestion-dlq'),
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        MessageAttributeNames: [DEAD_LETTERED_AT_ATTRIBUTE],
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    );
    const byId = new Map(out.Messages!.map((m) => [(JSON.parse(m.Body!) as EventBridgeEvent).id, m]));
    const deadLetteredAt = (id: string) => Date.parse(byId.get(id)!.MessageAttributes![DEAD_LETTERED_AT_ATTRIBUTE]!.StringValue!);
    const sentTimestamp = (id: string) => Number(byId.get(id)!.Attributes!.SentTimestamp);
    expect(Object.keys(byId.get(moved.id)!.MessageAttributes!)).toEqual([DEAD_LETTERED_AT_ATTRIBUTE]);
    expect(sentTimestamp(moved.id)).toBeLessThanOrEqual(enqueued);
    expect(deadLetteredAt(moved.id)).toBeGreaterThanOrEqual(movedAfter);
    expect(sentTimestamp('sent-to-the-dlq')).toBe(deadLetteredAt('sent-to-the-dlq'));
    // VisibilityTimeout 0: both are still visible.
    expect(bus.deadLetterStats('ingestion')).toEqual({ visible: 2, inFlight: 0 });
  });

  it('computes MD5OfMessageAttributes as SQS does', async () => {
    const event = await landOne();
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl('ingestion-dlq'),
        MessageBody: JSON.stringify(event),
        MessageAttributes: { [DEAD_LETTER_REASON_ATTRIBUTE]: { DataType: 'String', StringValue: 'why' } },
      }),
    );
    // Length-prefixed name, type, transport byte 1, value; computed independently here.
    const field = (s: string) => {
      const b = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return Buffer.concat([len, b]);
    };
    const expected = createHash('md5')
      .update(Buffer.concat([field(DEAD_LETTER_REASON_ATTRIBUTE), field('String'), Buffer.from([1]), field('why')]))
      .digest('hex');
    expect(sent.MD5OfMessageAttributes).toBe(expected);
  });

  it('long polls on the bus: a publish wakes a waiting ReceiveMessage', async () => {
    const started = Date.now();
    const polling = sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl('ingestion'), WaitTimeSeconds: 20 }));
    setTimeout(() => void bus.putEvents([aDatasetLanded()]), 300);
    const out = await polling;
    expect(out.Messages).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('ends pending long polls on close, with no messages', async () => {
    const polling = sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl('ingestion'), WaitTimeSeconds: 20 }));
    // Wait until the poll is on the bus, then close the endpoint under it.
    const started = Date.now();
    while ((endpoint as unknown as { inFlight: Set<unknown> }).inFlight.size === 0) await new Promise((r) => setTimeout(r, 10));
    await endpoint.close();
    expect((await polling).Messages).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('serves requests a host routes to handle() on its own port, with queue URLs on that port', async () => {
    const mounted = new SqsHttpEndpoint({ bus });
    const host: Server = createServer((req, res) => {
      if (String(req.headers['x-amz-target'] ?? '').startsWith('AmazonSQS.')) void mounted.handle(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    const hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
    const client = new SQSClient({ endpoint: hostUrl, region: 'us-east-1', credentials, maxAttempts: 1 });
    try {
      const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: 'reporting' }));
      expect(QueueUrl).toBe(`${hostUrl}/000000000000/reporting`);
    } finally {
      client.destroy();
      await mounted.close();
      await new Promise<void>((resolve) => host.close(() => resolve()));
    }
  });
});

describe('SqsHttpEndpoint errors, in AWS shapes the SDK maps to its exceptions', () => {
  it('QueueDoesNotExist for an unknown queue, with the query-compatible header', async () => {
    const byName = await rejection(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' })));
    expect(byName).toBeInstanceOf(QueueDoesNotExist);
    expect(byName.$metadata.httpStatusCode).toBe(400);
    const byUrl = await rejection(sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl('nope') })));
    expect(byUrl).toBeInstanceOf(QueueDoesNotExist);
    const otherAccount = await rejection(sqs.send(new ReceiveMessageCommand({ QueueUrl: `${url}/123456789012/ingestion` })));
    expect(otherAccount).toBeInstanceOf(QueueDoesNotExist);

    const wire = await raw('AmazonSQS.GetQueueUrl', { QueueName: 'nope' });
    expect(wire).toEqual({
      status: 400,
      queryError: 'AWS.SimpleQueueService.NonExistentQueue;Sender',
      json: { __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' },
    });
  });

  it('ReceiptHandleIsInvalid for a handle that is not one; a stale handle is accepted by DeleteMessage and deletes nothing', async () => {
    await landOne();
    const invalid = await rejection(sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl('ingestion'), ReceiptHandle: 'not a handle' })));
    expect(invalid).toBeInstanceOf(ReceiptHandleIsInvalid);
    expect(invalid.$metadata.httpStatusCode).toBe(404);

    const first = await receiveOne('ingestion', { VisibilityTimeout: 0 });
    const second = await receiveOne('ingestion', { VisibilityTimeout: 30 });
    // Another queue's handle is not one of this queue's.
    const foreign = await rejection(sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl('planner'), ReceiptHandle: second.ReceiptHandle })));
    expect(foreign).toBeInstanceOf(ReceiptHandleIsInvalid);
    // SQS: "the request succeeds, but the message will not be deleted".
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl('ingestion'), ReceiptHandle: first.ReceiptHandle }));
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 1, deadLetters: 0 });

    const notInFlight = await rejection(
      sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl('ingestion'), ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 10 })),
    );
    expect(notInFlight).toBeInstanceOf(MessageNotInflight);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl('ingestion'), ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 0 }));
    const visibleAgain = await rejection(
      sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl('ingestion'), ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 10 })),
    );
    expect(visibleAgain).toBeInstanceOf(MessageNotInflight);
  });

  it('batch errors: empty, too many, repeated ids, bad ids, and per-entry failures', async () => {
    const q = queueUrl('ingestion');
    expect(await rejection(sqs.send(new DeleteMessageBatchCommand({ QueueUrl: q, Entries: [] })))).toBeInstanceOf(EmptyBatchRequest);
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, ReceiptHandle: 'x' }));
    expect(await rejection(sqs.send(new DeleteMessageBatchCommand({ QueueUrl: q, Entries: eleven })))).toBeInstanceOf(TooManyEntriesInBatchRequest);
    const twice = [
      { Id: 'same', ReceiptHandle: 'x' },
      { Id: 'same', ReceiptHandle: 'y' },
    ];
    expect(await rejection(sqs.send(new DeleteMessageBatchCommand({ QueueUrl: q, Entries: twice })))).toBeInstanceOf(BatchEntryIdsNotDistinct);
    expect(
      await rejection(sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: q, Entries: [{ Id: 'has space', ReceiptHandle: 'x', VisibilityTimeout: 1 }] }))),
    ).toBeInstanceOf(InvalidBatchEntryId);

    await landOne();
    const m = await receiveOne('ingestion', { VisibilityTimeout: 30 });
    const changed = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: q,
        Entries: [
          { Id: 'ok', ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 60 },
          { Id: 'bad', ReceiptHandle: 'garbage', VisibilityTimeout: 60 },
        ],
      }),
    );
    expect(changed.Successful).toEqual([{ Id: 'ok' }]);
    expect(changed.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'ReceiptHandleIsInvalid', SenderFault: true })]);
    const deleted = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: q, Entries: [{ Id: 'ok', ReceiptHandle: m.ReceiptHandle }] }));
    expect(deleted.Successful).toEqual([{ Id: 'ok' }]);
    expect(bus.stats('ingestion').inFlight).toBe(0);
  });

  it('InvalidParameterValue and InvalidAttributeName for bad parameters', async () => {
    const q = queueUrl('ingestion');
    const tooMany = await rejection(sqs.send(new ReceiveMessageCommand({ QueueUrl: q, MaxNumberOfMessages: 11 })));
    expect(tooMany.name).toBe('InvalidParameterValue');
    expect(tooMany.$metadata.httpStatusCode).toBe(400);
    const tooLong = await rejection(sqs.send(new ReceiveMessageCommand({ QueueUrl: q, WaitTimeSeconds: 21 })));
    expect(tooLong.name).toBe('InvalidParameterValue');
    const badName = await rejection(sqs.send(new GetQueueAttributesCommand({ QueueUrl: q, AttributeNames: ['Bogus' as 'All'] })));
    expect(badName).toBeInstanceOf(InvalidAttributeName);
    expect((await raw('AmazonSQS.ReceiveMessage', { QueueUrl: q, MaxNumberOfMessages: 0 })).queryError).toBe('InvalidParameterValue;Sender');
  });

  it('UnsupportedOperation for SQS operations it does not serve, UnknownOperationException for others', async () => {
    expect(await rejection(sqs.send(new CreateQueueCommand({ QueueName: 'new' })))).toBeInstanceOf(UnsupportedOperation);
    expect(await rejection(sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl('ingestion') })))).toBeInstanceOf(UnsupportedOperation);
    const unknown = await raw('AmazonSQS.Teleport', {});
    expect(unknown.status).toBe(400);
    expect(unknown.json.__type).toBe('com.amazon.coral.service#UnknownOperationException');
    const badBody = await raw('AmazonSQS.ListQueues', {}, 'text/plain');
    expect(badBody.json.__type).toBe('com.amazon.coral.service#SerializationException');
  });
});
