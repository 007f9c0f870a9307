import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from '@nightshift/contracts';
import { LocalEventBus, SqsHttpEndpoint } from '@nightshift/events-local';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { afterAll, beforeAll } from 'vitest';
// The contract suite is test-only and deliberately not in events-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import type { ContractDeadLetter } from '../../../domain/src/testing/message-consumer.contract.js';
import { DEAD_LETTER_REASON_ATTRIBUTE } from '../sqs-message-consumer.js';

/** Static credentials for local endpoints (nothing checks them). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

/** The embedded bus behind its SQS endpoint, and an unmodified SDK client pointed at it. */
export interface EmbeddedSqs {
  bus: LocalEventBus;
  sqs: SQSClient;
  /** The endpoint's URL. */
  url: string;
  /** The URL of queue `name` (of a queue's DLQ: `<queue>-dlq`). */
  queueUrl(name: string): string;
  close(): Promise<void>;
}

/** Opens the embedded bus with one queue (and its DLQ) per name in `queues`, each message delivered at most twice, and serves it over SQS. */
export async function embeddedSqs(options: { queues: readonly string[]; visibilityTimeoutMs: number }): Promise<EmbeddedSqs> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-sqs-'));
  const rules = Object.fromEntries(options.queues.map((q) => [q, []]));
  const bus = await LocalEventBus.open({ dir, rules, visibilityTimeoutMs: options.visibilityTimeoutMs, maxReceiveCount: 2 });
  const endpoint = new SqsHttpEndpoint({ bus });
  const url = await endpoint.listen();
  const sqs = new SQSClient({ endpoint: url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  return {
    bus,
    sqs,
    url,
    queueUrl: (name) => `${url}/000000000000/${name}`,
    close: async () => {
      sqs.destroy();
      await endpoint.close();
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * fauxqs, an independent SQS emulator, in this process for the enclosing suite (started before its
 * cases, stopped after them); `client()` is a new SDK client pointed at it.
 */
export function fauxqsPerSuite(): { client(): SQSClient } {
  let server: FauxqsServer | undefined;
  beforeAll(async () => {
    server = await startFauxqs({ port: 0, logger: false });
  });
  afterAll(async () => {
    await server?.stop();
  });
  return { client: () => new SQSClient({ endpoint: server!.address, region: 'us-east-1', credentials: LOCAL_CREDENTIALS }) };
}

/**
 * Creates queue `name` and its `<name>-dlq` through the SDK (on an emulator such as fauxqs): a
 * visibility timeout of 2 s and a redrive policy to the DLQ after `maxReceiveCount` receives.
 */
export async function createQueueWithDeadLetterQueue(sqs: SQSClient, name: string, maxReceiveCount: number): Promise<{ queueUrl: string; deadLetterQueueUrl: string }> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }));
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { VisibilityTimeout: '2', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount }) },
    }),
  );
  return { queueUrl: queue.QueueUrl!, deadLetterQueueUrl: dlq.QueueUrl! };
}

/** Puts events on a queue the way an EventBridge rule with an SQS target does: the event's JSON as the body. */
export async function publishToQueue(sqs: SQSClient, queueUrl: string, events: readonly EventBridgeEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 10) {
    const batch = events.slice(i, i + 10);
    const out = await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((e, j) => ({ Id: `m${i + j}`, MessageBody: JSON.stringify(e) })) }),
    );
    if ((out.Failed ?? []).length > 0) throw new Error(`SendMessageBatch failed: ${JSON.stringify(out.Failed)}`);
  }
}

/** Peeks at a dead-letter queue (VisibilityTimeout 0: the messages stay visible) and reads each one's event id and reason. */
export async function peekDeadLetters(sqs: SQSClient, deadLetterQueueUrl: string): Promise<ContractDeadLetter[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageAttributeNames: ['All'] }),
  );
  return (out.Messages ?? []).map((m) => {
    const reason = m.MessageAttributes?.[DEAD_LETTER_REASON_ATTRIBUTE]?.StringValue;
    return { eventId: (JSON.parse(m.Body ?? '{}') as { id?: string }).id ?? '', ...(reason !== undefined ? { reason } : {}) };
  });
}
