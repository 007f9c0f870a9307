import { eventBridgeEnvelopeSchema, type EventBridgeEvent } from '@nightshift/contracts';
import type { LocalEventBus } from './local-event-bus.js';
import type { ReceivedDeadLetter, ReceivedMessage } from './messages.js';
import {
  batchEntries,
  hasOnlyValidCharacters,
  intMember,
  isObject,
  MAX_MESSAGE_BYTES,
  MAX_VISIBILITY_SECONDS,
  md5Hex,
  md5OfMessageAttributes,
  messageAttributesMember,
  messageBytes,
  sqsErrors,
  SqsWireError,
  stringListMember,
  stringMember,
  type JsonObject,
  type WireMessageAttribute,
} from './sqs-wire.js';

/** Message attribute that carries a dead letter's reason (set by the SQS consumer adapter, returned on the DLQ). */
export const DEAD_LETTER_REASON_ATTRIBUTE = 'nightshift-dead-letter-reason';
/**
 * Message attribute that carries when a dead letter was dead-lettered (ISO 8601; set by the SQS
 * consumer adapter, returned on the DLQ). SQS itself records no such time: `SentTimestamp` of a
 * message its redrive policy moved is when it entered the source queue.
 */
export const DEAD_LETTERED_AT_ATTRIBUTE = 'nightshift-dead-lettered-at';

/** What an operation needs of its request beyond the body. */
export interface SqsCallContext {
  /** `http://host:port` that queue URLs are built on. */
  baseUrl: string;
  /** Aborted when the client goes away or the endpoint closes: ends a long poll. */
  signal: AbortSignal;
}

/** A queue of the bus as SQS names it: a service queue, or its `<queue>-dlq`. */
interface QueueRef {
  /** SQS queue name (`planner`, `planner-dlq`). */
  name: string;
  /** The bus queue (`planner` for both). */
  queue: string;
  dlq: boolean;
}

const DLQ_SUFFIX = '-dlq';

/** Queue attributes SQS defines (any other name is `InvalidAttributeName`); the endpoint serves some of them. */
const QUEUE_ATTRIBUTE_NAMES = new Set([
  'All', 'Policy', 'VisibilityTimeout', 'MaximumMessageSize', 'MessageRetentionPeriod', 'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible', 'CreatedTimestamp', 'LastModifiedTimestamp', 'QueueArn',
  'ApproximateNumberOfMessagesDelayed', 'DelaySeconds', 'ReceiveMessageWaitTimeSeconds', 'RedrivePolicy', 'FifoQueue',
  'ContentBasedDeduplication', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'DeduplicationScope', 'FifoThroughputLimit',
  'RedriveAllowPolicy', 'SqsManagedSseEnabled',
]);

/** Message system attributes SQS defines. */
const SYSTEM_ATTRIBUTE_NAMES = new Set([
  'All', 'SenderId', 'SentTimestamp', 'ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'SequenceNumber',
  'MessageDeduplicationId', 'MessageGroupId', 'AWSTraceHeader', 'DeadLetterQueueSourceArn',
]);

/** SQS operations the endpoint does not serve (its queues are the bus configuration's): `UnsupportedOperation`. */
export const UNSUPPORTED_SQS_OPERATIONS = new Set([
  'CreateQueue', 'DeleteQueue', 'PurgeQueue', 'SetQueueAttributes', 'TagQueue', 'UntagQueue', 'ListQueueTags', 'AddPermission',
  'RemovePermission', 'ListDeadLetterSourceQueues', 'StartMessageMoveTask', 'CancelMessageMoveTask', 'ListMessageMoveTasks',
]);

type Operation = (body: JsonObject, ctx: SqsCallContext) => Promise<JsonObject> | JsonObject;

/**
 * The SQS operations over the embedded bus, one method per operation, request and response in the
 * wire's JSON shape. Protocol-agnostic of HTTP: {@link SqsHttpEndpoint} parses and answers.
 */
export class SqsOperations {
  readonly operations: ReadonlyMap<string, Operation>;

  constructor(
    private readonly bus: LocalEventBus,
    private readonly region: string,
  ) {
    this.operations = new Map<string, Operation>([
      ['GetQueueUrl', (b, c) => this.getQueueUrl(b, c)],
      ['ListQueues', (b, c) => this.listQueues(b, c)],
      ['GetQueueAttributes', (b) => this.getQueueAttributes(b)],
      ['SendMessage', (b) => this.sendMessage(b)],
      ['SendMessageBatch', (b) => this.sendMessageBatch(b)],
      ['ReceiveMessage', (b, c) => this.receiveMessage(b, c)],
      ['DeleteMessage', (b) => this.deleteMessage(b)],
      ['DeleteMessageBatch', (b) => this.deleteMessageBatch(b)],
      ['ChangeMessageVisibility', (b) => this.changeMessageVisibility(b)],
      ['ChangeMessageVisibilityBatch', (b) => this.changeMessageVisibilityBatch(b)],
    ]);
  }

  private getQueueUrl(body: JsonObject, ctx: SqsCallContext): JsonObject {
    const name = stringMember(body, 'QueueName', true);
    const owner = stringMember(body, 'QueueOwnerAWSAccountId');
    if (owner !== undefined && owner !== this.bus.account) throw sqsErrors.queueDoesNotExist();
    return { QueueUrl: this.urlOf(ctx, this.byName(name).name) };
  }

  private listQueues(body: JsonObject, ctx: SqsCallContext): JsonObject {
    const prefix = stringMember(body, 'QueueNamePrefix') ?? '';
    const maxResults = intMember(body, 'MaxResults', 1, 1000);
    const nextToken = stringMember(body, 'NextToken');
    const after = nextToken === undefined ? undefined : Buffer.from(nextToken, 'base64url').toString('utf8');
    const names = this.bus.queueNames
      .flatMap((q) => [q, `${q}${DLQ_SUFFIX}`])
      .filter((n) => n.startsWith(prefix) && (after === undefined || n > after))
      .sort();
    const page = maxResults === undefined ? names : names.slice(0, maxResults);
    const more = maxResults !== undefined && names.length > page.length;
    return {
      QueueUrls: page.map((n) => this.urlOf(ctx, n)),
      ...(more ? { NextToken: Buffer.from(page[page.length - 1]!, 'utf8').toString('base64url') } : {}),
    };
  }

  private getQueueAttributes(body: JsonObject): JsonObject {
    const ref = this.byUrl(body);
    const requested = stringListMember(body, 'AttributeNames');
    for (const n of requested) if (!QUEUE_ATTRIBUTE_NAMES.has(n)) throw sqsErrors.invalidAttributeName(n);
    const all = requested.includes('All');
    const stats = ref.dlq ? this.bus.deadLetterStats(ref.queue) : this.bus.stats(ref.queue);
    const served: Record<string, () => string> = {
      ApproximateNumberOfMessages: () => String(stats.visible),
      ApproximateNumberOfMessagesNotVisible: () => String(stats.inFlight),
      ApproximateNumberOfMessagesDelayed: () => '0',
      QueueArn: () => this.arnOf(ref.name),
      // SQS counts whole seconds; a sub-second bus timeout (tests) is rounded up.
      VisibilityTimeout: () => String(Math.ceil(this.bus.visibilityTimeoutMs / 1000)),
      DelaySeconds: () => '0',
      ReceiveMessageWaitTimeSeconds: () => '0',
      MaximumMessageSize: () => String(MAX_MESSAGE_BYTES),
      ...(ref.dlq
        ? {}
        : {
            RedrivePolicy: () =>
              JSON.stringify({ deadLetterTargetArn: this.arnOf(`${ref.queue}${DLQ_SUFFIX}`), maxReceiveCount: this.bus.maxReceiveCount }),
          }),
    };
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(served)) if (all || requested.includes(name)) attributes[name] = value();
    return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
  }

  private sendMessage(body: JsonObject): Promise<JsonObject> {
    return this.send(this.byUrl(body), body);
  }

  private async sendMessageBatch(body: JsonObject): Promise<JsonObject> {
    const ref = this.byUrl(body);
    const entries = batchEntries(body, 'SendMessageBatchRequestEntry');
    const total = entries.reduce((n, e) => n + messageBytes(typeof e.MessageBody === 'string' ? e.MessageBody : '', {}), 0);
    if (total > MAX_MESSAGE_BYTES) throw sqsErrors.batchRequestTooLong(total);
    return batchResult(entries, async (entry) => ({ Id: entry.Id, ...(await this.send(ref, entry)) }));
  }

  private async receiveMessage(body: JsonObject, ctx: SqsCallContext): Promise<JsonObject> {
    const ref = this.byUrl(body);
    const max = intMember(body, 'MaxNumberOfMessages', 1, 10) ?? 1;
    const waitSeconds = intMember(body, 'WaitTimeSeconds', 0, 20) ?? 0;
    const visibilitySeconds = intMember(body, 'VisibilityTimeout', 0, MAX_VISIBILITY_SECONDS);
    const systemNames = [...stringListMember(body, 'AttributeNames'), ...stringListMember(body, 'MessageSystemAttributeNames')];
    for (const n of systemNames) if (!SYSTEM_ATTRIBUTE_NAMES.has(n) && !QUEUE_ATTRIBUTE_NAMES.has(n)) throw sqsErrors.invalidAttributeName(n);
    const attributeNames = stringListMember(body, 'MessageAttributeNames');
    const options = {
      waitTimeMs: waitSeconds * 1000,
      signal: ctx.signal,
      ...(visibilitySeconds !== undefined ? { visibilityTimeoutMs: visibilitySeconds * 1000 } : {}),
    };
    const received: Array<ReceivedMessage | ReceivedDeadLetter> = ref.dlq
      ? await this.bus.receiveDeadLetters(ref.queue, max, options)
      : await this.bus.receive(ref.queue, max, options);
    if (received.length === 0) return {};
    return { Messages: received.map((m) => this.toWireMessage(ref, m, systemNames, attributeNames)) };
  }

  private async deleteMessage(body: JsonObject): Promise<JsonObject> {
    const ref = this.byUrl(body);
    await this.delete(ref, stringMember(body, 'ReceiptHandle', true));
    return {};
  }

  private async deleteMessageBatch(body: JsonObject): Promise<JsonObject> {
    const ref = this.byUrl(body);
    const entries = batchEntries(body, 'DeleteMessageBatchRequestEntry');
    return batchResult(entries, async (entry) => {
      await this.delete(ref, stringMember(entry, 'ReceiptHandle', true));
      return { Id: entry.Id };
    });
  }

  private async changeMessageVisibility(body: JsonObject): Promise<JsonObject> {
    const ref = this.byUrl(body);
    await this.changeVisibility(ref, body);
    return {};
  }

  private async changeMessageVisibilityBatch(body: JsonObject): Promise<JsonObject> {
    const ref = this.byUrl(body);
    const entries = batchEntries(body, 'ChangeMessageVisibilityBatchRequestEntry');
    return batchResult(entries, async (entry) => {
      await this.changeVisibility(ref, entry);
      return { Id: entry.Id };
    });
  }

  /** SendMessage of one message (also a batch entry): an EventBridge event, into the queue or as a dead letter. */
  private async send(ref: QueueRef, entry: JsonObject): Promise<JsonObject> {
    const text = stringMember(entry, 'MessageBody', true);
    const attributes = messageAttributesMember(entry);
    const delay = intMember(entry, 'DelaySeconds', 0, 900) ?? 0;
    if (delay !== 0) {
      throw sqsErrors.invalidParameterValue(`Value ${delay} for parameter DelaySeconds is invalid. Reason: the embedded bus has no delay queues.`);
    }
    if (text.length === 0) throw sqsErrors.invalidParameterValue('The request must contain a non-empty message body.');
    const bytes = messageBytes(text, attributes);
    if (bytes > MAX_MESSAGE_BYTES) {
      throw sqsErrors.invalidParameterValue(`One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`);
    }
    if (!hasOnlyValidCharacters(text)) {
      throw sqsErrors.invalidMessageContents(
        'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
      );
    }
    const event = parseEvent(text);
    const reason = attributes[DEAD_LETTER_REASON_ATTRIBUTE]?.StringValue ?? `sent to ${ref.name} with SendMessage`;
    const messageId = ref.dlq ? await this.bus.putDeadLetter(ref.queue, event, reason) : await this.bus.sendMessage(ref.queue, event);
    const attributesMd5 = md5OfMessageAttributes(attributes);
    return { MessageId: messageId, MD5OfMessageBody: md5Hex(text), ...(attributesMd5 ? { MD5OfMessageAttributes: attributesMd5 } : {}) };
  }

  /**
   * DeleteMessage as SQS documents it: a handle that is not the message's latest delivery (or whose
   * message is gone) is accepted and deletes nothing; only a handle that is not one is refused.
   */
  private async delete(ref: QueueRef, wireHandle: string): Promise<void> {
    const handle = this.decodeHandle(ref, wireHandle);
    if (ref.dlq) await this.bus.deleteDeadLetter(ref.queue, handle);
    else await this.bus.ack(ref.queue, handle);
  }

  private async changeVisibility(ref: QueueRef, entry: JsonObject): Promise<void> {
    const handle = this.decodeHandle(ref, stringMember(entry, 'ReceiptHandle', true));
    const seconds = intMember(entry, 'VisibilityTimeout', 0, MAX_VISIBILITY_SECONDS, true)!;
    const changed = ref.dlq
      ? this.bus.changeDeadLetterVisibility(ref.queue, handle, seconds * 1000)
      : this.bus.isInFlight(ref.queue, handle) && (await this.bus.release(ref.queue, handle, seconds * 1000));
    if (!changed) throw sqsErrors.messageNotInflight();
  }

  private toWireMessage(ref: QueueRef, m: ReceivedMessage | ReceivedDeadLetter, systemNames: string[], attributeNames: string[]): JsonObject {
    // The event exactly as EventBridge puts it in an SQS target's message body: its JSON.
    const body = JSON.stringify(m.event);
    const system: Record<string, string> = {
      SenderId: this.bus.account,
      SentTimestamp: String(Date.parse(m.enqueuedAt)),
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp: String(Date.parse(m.firstReceivedAt)),
      ...(ref.dlq ? { DeadLetterQueueSourceArn: this.arnOf(ref.queue) } : {}),
    };
    const wantAll = systemNames.includes('All');
    const attributes = Object.fromEntries(Object.entries(system).filter(([n]) => wantAll || systemNames.includes(n)));
    const messageAttributes: Record<string, WireMessageAttribute> = {};
    if ('reason' in m) {
      if (wantsMessageAttribute(attributeNames, DEAD_LETTER_REASON_ATTRIBUTE)) {
        messageAttributes[DEAD_LETTER_REASON_ATTRIBUTE] = { DataType: 'String', StringValue: m.reason };
      }
      if (m.deadLetteredAt !== '' && wantsMessageAttribute(attributeNames, DEAD_LETTERED_AT_ATTRIBUTE)) {
        messageAttributes[DEAD_LETTERED_AT_ATTRIBUTE] = { DataType: 'String', StringValue: m.deadLetteredAt };
      }
    }
    const attributesMd5 = md5OfMessageAttributes(messageAttributes);
    return {
      MessageId: m.messageId,
      ReceiptHandle: Buffer.from(`${ref.name}\n${m.receiptHandle}`, 'utf8').toString('base64url'),
      MD5OfBody: md5Hex(body),
      Body: body,
      ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
      ...(attributesMd5 ? { MessageAttributes: messageAttributes, MD5OfMessageAttributes: attributesMd5 } : {}),
    };
  }

  /** A wire handle is `base64url("<queue name>\n<bus handle>")`; anything else, or another queue's, is `ReceiptHandleIsInvalid`. */
  private decodeHandle(ref: QueueRef, wireHandle: string): string {
    if (/^[A-Za-z0-9_-]+$/.test(wireHandle)) {
      const [name, handle] = Buffer.from(wireHandle, 'base64url').toString('utf8').split('\n');
      if (name === ref.name && handle) return handle;
    }
    throw sqsErrors.receiptHandleIsInvalid(wireHandle);
  }

  private byUrl(body: JsonObject): QueueRef {
    const url = stringMember(body, 'QueueUrl', true);
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      path = url;
    }
    const [account, name, ...rest] = path.split('/').filter((s) => s !== '');
    if (account !== this.bus.account || name === undefined || rest.length > 0) throw sqsErrors.queueDoesNotExist();
    return this.byName(name);
  }

  private byName(name: string): QueueRef {
    const known = new Set(this.bus.queueNames);
    if (known.has(name)) return { name, queue: name, dlq: false };
    const queue = name.endsWith(DLQ_SUFFIX) ? name.slice(0, -DLQ_SUFFIX.length) : undefined;
    if (queue !== undefined && known.has(queue)) return { name, queue, dlq: true };
    throw sqsErrors.queueDoesNotExist();
  }

  private urlOf(ctx: SqsCallContext, name: string): string {
    return `${ctx.baseUrl}/${this.bus.account}/${name}`;
  }

  private arnOf(name: string): string {
    return `arn:aws:sqs:${this.region}:${this.bus.account}:${name}`;
  }
}

/** The body of a message for the bus: an EventBridge event's JSON, else SQS's `InvalidMessageContents`. */
function parseEvent(text: string): EventBridgeEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw sqsErrors.invalidMessageContents('The message body must be an EventBridge event (JSON); it is not JSON.');
  }
  const checked = eventBridgeEnvelopeSchema.safeParse(parsed);
  if (!checked.success || !isObject(parsed)) {
    const issues = checked.success ? 'not an object' : checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw sqsErrors.invalidMessageContents(`The message body must be an EventBridge event: ${issues}`);
  }
  // Enqueued as sent (unknown members too), not as the schema's parse output.
  return parsed as unknown as EventBridgeEvent;
}

function wantsMessageAttribute(requested: string[], name: string): boolean {
  return requested.some((r) => r === 'All' || r === '.*' || r === name || (r.endsWith('.*') && name.startsWith(r.slice(0, -1))));
}

/** Runs each entry; an entry's SQS error becomes its `Failed` line, other errors fail the whole call. */
async function batchResult(
  entries: Array<JsonObject & { Id: string }>,
  run: (entry: JsonObject & { Id: string }) => Promise<JsonObject>,
): Promise<JsonObject> {
  const Successful: JsonObject[] = [];
  const Failed: JsonObject[] = [];
  for (const entry of entries) {
    try {
      Successful.push(await run(entry));
    } catch (e) {
      if (!(e instanceof SqsWireError)) throw e;
      Failed.push({ Id: entry.Id, SenderFault: e.senderFault, Code: e.code, Message: e.message });
    }
  }
  return { Successful, Failed };
}
