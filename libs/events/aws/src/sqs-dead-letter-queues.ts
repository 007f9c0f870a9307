import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  assertDeadLetterQueue,
  deadLetterEventOf,
  deadLetterPageLimit,
  deadLetterRedriveMax,
  decodeDeadLetterCursor,
  pageOfDeadLetters,
  type DeadLetterListOptions,
  type DeadLetterPage,
  type DeadLetterPosition,
  type DeadLetterQueues,
  type DeadLetterRedriveOptions,
  type DeadLetterRedriveResult,
  type DeadLetterView,
} from '@nightshift/events-domain';
import { queueUrlOf, sqsCall } from './sqs-calls.js';
import { DEAD_LETTER_REASON_ATTRIBUTE, DEAD_LETTERED_AT_ATTRIBUTE } from './sqs-message-consumer.js';

/** Options of {@link SqsDeadLetterQueues}. */
export interface SqsDeadLetterQueuesOptions {
  /**
   * The service queues served, by the name the port uses -> their SQS queue name, whose DLQ is
   * `<SQS name>-dlq` (as infra names it and the consumer finds it). A list: the same names.
   */
  queues: Readonly<Record<string, string>> | readonly string[];
  /** Most messages one `list` reads from a DLQ; a larger DLQ is listed in part (`depth` counts it all). Default 1000. */
  scanLimit?: number;
  /**
   * How long `list` and `redrive` keep the DLQ messages they received hidden, in seconds: it must cover
   * a scan (a listing makes them visible again as soon as it is done) or one move. Default 30.
   */
  visibilityTimeoutSeconds?: number;
  /**
   * Long polling of each DLQ receive, in seconds. SQS's short poll samples some of its servers and can
   * answer empty while messages wait, which would end a scan early; 1 s asks them all (and costs that
   * second once per call, on the empty receive that ends it). 0 suits an endpoint that answers exactly
   * (the embedded bus's). Default 1.
   */
  waitTimeSeconds?: number;
}

interface QueueUrls {
  queueUrl: string;
  deadLetterQueueUrl: string;
}

interface Scanned {
  view: DeadLetterView;
  position: DeadLetterPosition;
}

/** SQS's most messages per receive and entries per batch. */
const SQS_BATCH = 10;

/**
 * The {@link DeadLetterQueues} of SQS queues and their `<queue>-dlq`, over one injected `SQSClient`
 * (AWS, or the embedded platform's SQS endpoint). Queue URLs come from GetQueueUrl, once per queue.
 *
 * - list: ReceiveMessage on the DLQ (all system and message attributes) until a receive brings
 *   nothing new or `scanLimit` messages were seen, each hidden for `visibilityTimeoutSeconds`, then
 *   ChangeMessageVisibility 0 on all of them: a peek of the whole DLQ, which no message leaves. A
 *   receive with VisibilityTimeout 0 cannot enumerate more than one batch (the next receive is free
 *   to return the same ten, and the embedded endpoint does), hence the short hiding. The page is cut
 *   from the scan in the port's order (the `nightshift-dead-lettered-at` attribute the consumer sets,
 *   else `SentTimestamp`). `reason` is the consumer's `nightshift-dead-letter-reason` attribute; a
 *   message the redrive policy moved has neither attribute, so no reason nor time. `receiveCount` is
 *   not given: a DLQ message's `ApproximateReceiveCount` counts its receives from the DLQ too.
 * - redrive: receive a batch (hidden likewise) -> SendMessage of each body unchanged to the source
 *   queue -> DeleteMessage from the DLQ, until `max` or the DLQ has nothing new. A second copy of a
 *   message already moved (a standard queue delivers at least once) is deleted, not sent again; a
 *   message carrying an event this redrive already moved (dead-lettered again meanwhile) is left,
 *   made visible again at the end. Not StartMessageMoveTask: it cannot stop at `max`, runs
 *   asynchronously (a task to poll), and the embedded endpoint does not serve it.
 * - depth: `ApproximateNumberOfMessages` + `ApproximateNumberOfMessagesNotVisible` of the DLQ.
 *
 * `QueueDoesNotExist` (a queue or DLQ missing from the deployment) is an `SqsQueueNotFoundError`;
 * throttling, 5xx and network failures an `SqsUnavailableError` (retryable); anything else
 * (AccessDenied: the role lacks a grant) is rethrown as the SDK raised it.
 */
export class SqsDeadLetterQueues implements DeadLetterQueues {
  private readonly names: ReadonlyMap<string, string>;
  private readonly urls = new Map<string, Promise<QueueUrls>>();
  private readonly scanLimit: number;
  private readonly hideSeconds: number;
  private readonly waitSeconds: number;

  constructor(
    private readonly sqs: SQSClient,
    options: SqsDeadLetterQueuesOptions,
  ) {
    const queues = options.queues;
    this.names = new Map(isNameList(queues) ? queues.map((q) => [q, q]) : Object.entries(queues));
    this.scanLimit = integerOption('scanLimit', options.scanLimit ?? 1000, 1, Number.MAX_SAFE_INTEGER);
    this.hideSeconds = integerOption('visibilityTimeoutSeconds', options.visibilityTimeoutSeconds ?? 30, 1, 43_200);
    this.waitSeconds = integerOption('waitTimeSeconds', options.waitTimeSeconds ?? 1, 0, 20);
  }

  queues(): readonly string[] {
    return [...this.names.keys()];
  }

  async list(queue: string, options: DeadLetterListOptions = {}): Promise<DeadLetterPage> {
    this.assertKnown(queue);
    // Checked before the scan, which is the costly part.
    deadLetterPageLimit(options.limit);
    if (options.cursor !== undefined) decodeDeadLetterCursor(queue, options.cursor);
    const { deadLetterQueueUrl } = await this.urlsOf(queue);
    return pageOfDeadLetters(queue, await this.scan(queue, deadLetterQueueUrl), options);
  }

  async redrive(queue: string, options: DeadLetterRedriveOptions = {}): Promise<DeadLetterRedriveResult> {
    this.assertKnown(queue);
    const max = deadLetterRedriveMax(options.max);
    const { queueUrl, deadLetterQueueUrl } = await this.urlsOf(queue);
    const seen = new Set<string>();
    const movedMessages = new Set<string>();
    const movedEvents = new Set<string>();
    // Received and not moved: made visible again at the end, for the next redrive and listings.
    const held: string[] = [];
    let moved = 0;
    await this.holding(queue, deadLetterQueueUrl, held, async () => {
      while (moved < max) {
        const messages = await this.receive(queue, deadLetterQueueUrl, Math.min(SQS_BATCH, max - moved));
        let fresh = false;
        for (const m of messages) {
          const id = m.MessageId ?? '';
          if (!seen.has(id)) fresh = true;
          seen.add(id);
          if (movedMessages.has(id)) {
            await this.delete(queue, deadLetterQueueUrl, m.ReceiptHandle!);
            continue;
          }
          const eventId = eventIdOf(m.Body);
          if (moved >= max || (eventId !== undefined && movedEvents.has(eventId))) {
            held.push(m.ReceiptHandle!);
            continue;
          }
          try {
            await this.send(queue, queueUrl, m.Body ?? '');
          } catch (e) {
            held.push(m.ReceiptHandle!);
            throw e;
          }
          movedMessages.add(id);
          if (eventId !== undefined) movedEvents.add(eventId);
          moved++;
          await this.delete(queue, deadLetterQueueUrl, m.ReceiptHandle!);
        }
        if (!fresh) break;
      }
    });
    return { moved };
  }

  async depth(queue: string): Promise<number> {
    this.assertKnown(queue);
    const { deadLetterQueueUrl } = await this.urlsOf(queue);
    const { Attributes: attributes } = await sqsCall('GetQueueAttributes', this.deadLetterQueueName(queue), () =>
      this.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: deadLetterQueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      ),
    );
    return Number(attributes?.ApproximateNumberOfMessages ?? 0) + Number(attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  /** Every message of the DLQ, up to `scanLimit`, as views; all visible again when this resolves. */
  private async scan(queue: string, deadLetterQueueUrl: string): Promise<Scanned[]> {
    const found = new Map<string, Scanned>();
    const held: string[] = [];
    await this.holding(queue, deadLetterQueueUrl, held, async () => {
      while (found.size < this.scanLimit) {
        const messages = await this.receive(queue, deadLetterQueueUrl, Math.min(SQS_BATCH, this.scanLimit - found.size));
        let fresh = false;
        for (const m of messages) {
          held.push(m.ReceiptHandle!);
          const id = m.MessageId ?? '';
          if (found.has(id)) continue;
          fresh = true;
          found.set(id, scannedOf(queue, m));
        }
        if (!fresh) break;
      }
    });
    return [...found.values()];
  }

  /**
   * Runs `work`, then makes the messages whose handles it put in `held` visible again. If `work`
   * failed, its error is the one reported: the messages come back by themselves after the
   * visibility timeout, so a failure to release them early changes nothing that matters.
   */
  private async holding(queue: string, url: string, held: string[], work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (e) {
      await this.release(queue, url, held).catch(() => undefined);
      throw e;
    }
    await this.release(queue, url, held);
  }

  /** ChangeMessageVisibility 0, in batches; a handle SQS reports stale (the message left meanwhile) needs nothing. */
  private async release(queue: string, url: string, handles: readonly string[]): Promise<void> {
    for (let i = 0; i < handles.length; i += SQS_BATCH) {
      const entries = handles.slice(i, i + SQS_BATCH).map((ReceiptHandle, j) => ({ Id: `m${i + j}`, ReceiptHandle, VisibilityTimeout: 0 }));
      await sqsCall('ChangeMessageVisibilityBatch', this.deadLetterQueueName(queue), () =>
        this.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: entries })),
      );
    }
  }

  private async receive(queue: string, url: string, max: number): Promise<Message[]> {
    const out = await sqsCall('ReceiveMessage', this.deadLetterQueueName(queue), () =>
      this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: max,
          VisibilityTimeout: this.hideSeconds,
          WaitTimeSeconds: this.waitSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      ),
    );
    return (out.Messages ?? []).filter((m) => m.ReceiptHandle !== undefined);
  }

  private async send(queue: string, url: string, body: string): Promise<void> {
    await sqsCall('SendMessage', this.names.get(queue)!, () => this.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body })));
  }

  private async delete(queue: string, url: string, receiptHandle: string): Promise<void> {
    await sqsCall('DeleteMessage', this.deadLetterQueueName(queue), () => this.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: receiptHandle })));
  }

  private urlsOf(queue: string): Promise<QueueUrls> {
    let urls = this.urls.get(queue);
    if (urls === undefined) {
      const name = this.names.get(queue)!;
      urls = Promise.all([queueUrlOf(this.sqs, name), queueUrlOf(this.sqs, `${name}-dlq`)]).then(
        ([queueUrl, deadLetterQueueUrl]) => ({ queueUrl, deadLetterQueueUrl }),
        (e: unknown) => {
          // A failed lookup is not kept: the next call tries again.
          this.urls.delete(queue);
          throw e;
        },
      );
      this.urls.set(queue, urls);
    }
    return urls;
  }

  private deadLetterQueueName(queue: string): string {
    return `${this.names.get(queue)!}-dlq`;
  }

  private assertKnown(queue: string): void {
    assertDeadLetterQueue(queue, this.queues());
  }
}

/** A DLQ message as the port shows it, and where it sorts. */
function scannedOf(queue: string, m: Message): Scanned {
  const reason = m.MessageAttributes?.[DEAD_LETTER_REASON_ATTRIBUTE]?.StringValue;
  const stamped = Date.parse(m.MessageAttributes?.[DEAD_LETTERED_AT_ATTRIBUTE]?.StringValue ?? '');
  const sentMs = Number(m.Attributes?.SentTimestamp ?? NaN);
  // A message the consumer sent before it stamped the time: sent to the DLQ when dead-lettered.
  const deadLetteredAtMs = Number.isFinite(stamped) ? stamped : reason !== undefined ? sentMs : NaN;
  const event = deadLetterEventOf(parseJson(m.Body));
  const view: DeadLetterView = {
    messageId: m.MessageId ?? '',
    queue,
    ...(reason !== undefined ? { reason } : {}),
    ...(Number.isFinite(deadLetteredAtMs) ? { deadLetteredAt: new Date(deadLetteredAtMs).toISOString() } : {}),
    ...(event !== undefined ? { event } : {}),
  };
  const atMs = Number.isFinite(deadLetteredAtMs) ? deadLetteredAtMs : Number.isFinite(sentMs) ? sentMs : 0;
  return { view, position: { atMs, messageId: view.messageId } };
}

function eventIdOf(body: string | undefined): string | undefined {
  const parsed = parseJson(body);
  const id = typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** The body's JSON; undefined for a body that is not JSON (which the listing shows without an event). */
function parseJson(body: string | undefined): unknown {
  try {
    return JSON.parse(body ?? '');
  } catch {
    return undefined;
  }
}

function isNameList(queues: SqsDeadLetterQueuesOptions['queues']): queues is readonly string[] {
  return Array.isArray(queues);
}

function integerOption(name: string, value: number, min: number, max: number): number {
  if (!(Number.isInteger(value) && value >= min && value <= max)) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}
