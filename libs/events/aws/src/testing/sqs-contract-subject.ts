import { ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from '@nightshift/contracts';
// The contract suite is test-only and deliberately not in events-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import type { ContractDeadLetter } from '../../../domain/src/testing/message-consumer.contract.js';
import { DEAD_LETTER_REASON_ATTRIBUTE } from '../sqs-message-consumer.js';

/** Static credentials for local endpoints (nothing checks them). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

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
