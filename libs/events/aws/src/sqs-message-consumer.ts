import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  MessageNotInflight,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { eventBridgeEnvelopeSchema, type EventBridgeEvent } from '@nightshift/contracts';
import type { ConsumerReceiveOptions, MessageConsumer, QueueMessage } from '@nightshift/events-domain';
import { SqsConsumerNotReadyError, SqsUnavailableError } from './errors.js';
import { queueUrlOf, sqsCall, sqsFailure } from './sqs-calls.js';

/** Message attribute that carries the reason of a dead letter (the embedded bus's SQS endpoint reads it too). */
export const DEAD_LETTER_REASON_ATTRIBUTE = 'nightshift-dead-letter-reason';
/**
 * Message attribute that carries when a message was dead-lettered (ISO 8601): SQS records no such
 * time, and `SentTimestamp` of a message its redrive policy moved is when it entered the source queue.
 * The embedded bus's SQS endpoint returns it on its DLQs too.
 */
export const DEAD_LETTERED_AT_ATTRIBUTE = 'nightshift-dead-lettered-at';

/** Options of {@link SqsMessageConsumer}. */
export interface SqsMessageConsumerOptions {
  /** The queue's name (a service name). */
  queue: string;
  /** The queue's URL. Default: GetQueueUrl of `queue`, once. */
  queueUrl?: string;
  /** URL of the queue's dead-letter queue. Default: GetQueueUrl of `<queue>-dlq`, once. */
  deadLetterQueueUrl?: string;
  /** The queue's visibility timeout. Default: its `VisibilityTimeout` attribute (GetQueueAttributes), once. */
  visibilityTimeoutMs?: number;
}

/** SQS's limits: 20 s of long polling, 12 h of visibility. */
const MAX_WAIT_SECONDS = 20;
const MAX_VISIBILITY_SECONDS = 43_200;
/** A dead letter's reason is cut to this length: it travels in a message attribute, counted in the message size. */
const MAX_REASON_CHARS = 4096;

interface QueueInfo {
  queueUrl: string;
  deadLetterQueueUrl: string;
  visibilityTimeoutMs: number;
}

interface KeptBody {
  body: string;
  receivedAt: number;
}

/**
 * The {@link MessageConsumer} of one SQS queue that an EventBridge rule targets, over one injected
 * `SQSClient` (its endpoint comes from the SDK's configuration: `AWS_ENDPOINT_URL_SQS`,
 * `AWS_ENDPOINT_URL`, or AWS). Queue URLs and the visibility timeout are looked up on first use
 * (or by {@link ready}, to fail fast at boot) and cached.
 *
 * - receive: ReceiveMessage, long polling for `ceil(waitTimeMs / 1000)` s (at most 20), aborted by
 *   `signal` (an aborted poll resolves `[]`). A body that is not an EventBridge event is
 *   dead-lettered with the reason and skipped.
 * - ack: DeleteMessage. release / extendVisibility: ChangeMessageVisibility (whole seconds, rounded
 *   up, at most 12 h); SQS keeps no reason, so `release`'s is dropped.
 * - deadLetter: checks the handle is still in flight (ChangeMessageVisibility, which also keeps the
 *   message hidden meanwhile), sends the body unchanged to the DLQ with the reason in the
 *   `nightshift-dead-letter-reason` attribute and the time in `nightshift-dead-lettered-at`, then
 *   deletes it. The alternative, leaving it to the queue's redrive policy, would deliver it again
 *   `maxReceiveCount` times and lose the reason. A crash between send and delete leaves it in both
 *   (at least once). The body is the one this
 *   consumer received (kept until the handle is acked, released or dead-lettered, at most 12 h): a
 *   handle it did not receive, or released, resolves `false` and is left to the redrive policy.
 *
 * A stale handle resolves `false` where SQS says so (`ReceiptHandleIsInvalid`, `MessageNotInflight`,
 * or `InvalidParameterValue`, which real SQS answers for an expired handle: every other parameter is
 * checked here first). DeleteMessage with an old handle succeeds on SQS without deleting anything:
 * `ack` then resolves `true`. `QueueDoesNotExist` is an `SqsQueueNotFoundError` (not
 * retryable); throttling, 5xx and network failures an {@link SqsUnavailableError} (retryable);
 * anything else is rethrown as the SDK raised it.
 */
export class SqsMessageConsumer implements MessageConsumer {
  readonly queue: string;
  private info: QueueInfo | undefined;
  private resolving: Promise<QueueInfo> | undefined;
  private readonly bodies = new Map<string, KeptBody>();

  constructor(
    private readonly sqs: SQSClient,
    private readonly options: SqsMessageConsumerOptions,
  ) {
    this.queue = options.queue;
    if (options.visibilityTimeoutMs !== undefined && !(Number.isFinite(options.visibilityTimeoutMs) && options.visibilityTimeoutMs >= 0)) {
      throw new RangeError(`visibilityTimeoutMs must be a non-negative number, got ${options.visibilityTimeoutMs}`);
    }
  }

  /** The option, else the queue's attribute; throws {@link SqsConsumerNotReadyError} before that is loaded. */
  get visibilityTimeoutMs(): number {
    const ms = this.options.visibilityTimeoutMs ?? this.info?.visibilityTimeoutMs;
    if (ms === undefined) throw new SqsConsumerNotReadyError(this.queue);
    return ms;
  }

  /** Looks up the queue URLs and attributes now (they are otherwise looked up by the first call). */
  async ready(): Promise<this> {
    await this.queueInfo();
    return this;
  }

  async receive(max: number, options: ConsumerReceiveOptions = {}): Promise<QueueMessage[]> {
    if (!(Number.isInteger(max) && max >= 1 && max <= 10)) throw new RangeError(`max must be an integer from 1 to 10, got ${max}`);
    const { queueUrl } = await this.queueInfo();
    const { signal } = options;
    if (signal?.aborted) return [];
    this.forgetOldBodies();
    let received: Message[];
    try {
      const out = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: Math.min(MAX_WAIT_SECONDS, Math.ceil(Math.max(0, options.waitTimeMs ?? 0) / 1000)),
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
        { abortSignal: signal },
      );
      received = out.Messages ?? [];
    } catch (e) {
      if (signal?.aborted) return [];
      throw sqsFailure('ReceiveMessage', e, this.queue);
    }
    const messages: QueueMessage[] = [];
    for (const m of received) {
      if (m.ReceiptHandle === undefined) continue;
      const body = m.Body ?? '';
      const parsed = parseEvent(body);
      if ('reason' in parsed) {
        await this.deadLetterUnreadable(m.ReceiptHandle, body, parsed.reason);
        continue;
      }
      this.bodies.set(m.ReceiptHandle, { body, receivedAt: Date.now() });
      messages.push({
        receiptHandle: m.ReceiptHandle,
        messageId: m.MessageId ?? '',
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
        event: parsed.event,
      });
    }
    return messages;
  }

  async ack(receiptHandle: string): Promise<boolean> {
    const { queueUrl } = await this.queueInfo();
    this.bodies.delete(receiptHandle);
    return this.handleCall('DeleteMessage', () => this.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle })));
  }

  async release(receiptHandle: string, delayMs: number): Promise<boolean> {
    this.bodies.delete(receiptHandle);
    return this.changeVisibility(receiptHandle, delayMs);
  }

  extendVisibility(receiptHandle: string, timeoutMs: number): Promise<boolean> {
    return this.changeVisibility(receiptHandle, timeoutMs);
  }

  async deadLetter(receiptHandle: string, reason: string): Promise<boolean> {
    const kept = this.bodies.get(receiptHandle);
    if (!kept) return false;
    if (!(await this.changeVisibility(receiptHandle, this.visibilityTimeoutMs))) {
      this.bodies.delete(receiptHandle);
      return false;
    }
    await this.sendToDeadLetterQueue(kept.body, reason);
    return this.ack(receiptHandle);
  }

  private async changeVisibility(receiptHandle: string, timeoutMs: number): Promise<boolean> {
    const { queueUrl } = await this.queueInfo();
    const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(timeoutMs / 1000)));
    return this.handleCall('ChangeMessageVisibility', () =>
      this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds })),
    );
  }

  /**
   * A body that is not an event can never be handled: dead-letter it now. If that fails for a
   * transient reason the message simply comes back after its visibility timeout and is tried again
   * (or reaches the DLQ by the redrive policy), so the receive goes on; a permanent failure (no DLQ)
   * is thrown.
   */
  private async deadLetterUnreadable(receiptHandle: string, body: string, reason: string): Promise<void> {
    try {
      await this.sendToDeadLetterQueue(body, reason);
      await this.ack(receiptHandle);
    } catch (e) {
      if (!(e instanceof SqsUnavailableError)) throw e;
    }
  }

  private async sendToDeadLetterQueue(body: string, reason: string): Promise<void> {
    const { deadLetterQueueUrl } = await this.queueInfo();
    await sqsCall('SendMessage', `${this.queue}-dlq`, () =>
      this.sqs.send(
        new SendMessageCommand({
          QueueUrl: deadLetterQueueUrl,
          MessageBody: body,
          MessageAttributes: {
            [DEAD_LETTER_REASON_ATTRIBUTE]: { DataType: 'String', StringValue: attributeText(reason) },
            [DEAD_LETTERED_AT_ATTRIBUTE]: { DataType: 'String', StringValue: new Date().toISOString() },
          },
        }),
      ),
    );
  }

  /** A call on one receipt handle: `true` if SQS accepted it, `false` if SQS says the handle is stale. */
  private async handleCall(operation: string, call: () => Promise<unknown>): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (e) {
      if (e instanceof ReceiptHandleIsInvalid || e instanceof MessageNotInflight || (e as { name?: unknown }).name === 'InvalidParameterValue') {
        return false;
      }
      throw sqsFailure(operation, e, this.queue);
    }
  }

  private queueInfo(): Promise<QueueInfo> {
    if (this.info) return Promise.resolve(this.info);
    // A failed lookup is not cached: the next call tries again.
    this.resolving ??= this.lookUp().then(
      (info) => (this.info = info),
      (e: unknown) => {
        this.resolving = undefined;
        throw e;
      },
    );
    return this.resolving;
  }

  private async lookUp(): Promise<QueueInfo> {
    const dlq = `${this.queue}-dlq`;
    const [queueUrl, deadLetterQueueUrl] = await Promise.all([
      this.options.queueUrl ?? queueUrlOf(this.sqs, this.queue),
      this.options.deadLetterQueueUrl ?? queueUrlOf(this.sqs, dlq),
    ]);
    let visibilityTimeoutMs = this.options.visibilityTimeoutMs;
    if (visibilityTimeoutMs === undefined) {
      const out = await sqsCall('GetQueueAttributes', this.queue, () =>
        this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] })),
      );
      const seconds = out.Attributes?.VisibilityTimeout;
      visibilityTimeoutMs = Number(seconds) * 1000;
      if (!Number.isFinite(visibilityTimeoutMs)) {
        throw new TypeError(`queue ${this.queue} has no numeric VisibilityTimeout attribute (got ${String(seconds)})`);
      }
    }
    return { queueUrl, deadLetterQueueUrl, visibilityTimeoutMs };
  }

  /** Drops bodies kept past SQS's 12-hour cap on a message's time in flight: their handles are dead. */
  private forgetOldBodies(): void {
    const horizon = Date.now() - MAX_VISIBILITY_SECONDS * 1000;
    for (const [handle, kept] of this.bodies) if (kept.receivedAt < horizon) this.bodies.delete(handle);
  }
}

/** The message body as EventBridge delivers an event to an SQS target, or why it is not one. */
function parseEvent(body: string): { event: EventBridgeEvent } | { reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { reason: 'the message body is not JSON, so not an EventBridge event' };
  }
  const checked = eventBridgeEnvelopeSchema.safeParse(json);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { reason: `the message body is not an EventBridge event: ${issues}` };
  }
  // As delivered (members the schema does not know included), not the schema's parse output.
  return { event: json as EventBridgeEvent };
}

/** SQS refuses attribute values with characters outside its set; a reason is free text, so replace them. */
function attributeText(reason: string): string {
  const cleaned = reason.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');
  const text = cleaned.length > MAX_REASON_CHARS ? `${cleaned.slice(0, MAX_REASON_CHARS - 1)}…` : cleaned;
  return text === '' ? '(no reason given)' : text;
}
