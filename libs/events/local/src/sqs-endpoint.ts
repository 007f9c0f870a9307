import type { IncomingMessage, ServerResponse } from 'node:http';
import { header, LoopbackHttpServer, readBody, RequestBodyTooLargeError, sendAwsJson } from '@nightshift/aws-wire';
import { BusClosedError, messageOf, UnknownQueueError } from './errors.js';
import type { LocalEventBus } from './local-event-bus.js';
import { SqsOperations, UNSUPPORTED_SQS_OPERATIONS } from './sqs-operations.js';
import { isObject, SQS_CONTENT_TYPE, SQS_TARGET_PREFIX, sqsErrors, SqsWireError, type JsonObject } from './sqs-wire.js';

export { DEAD_LETTER_REASON_ATTRIBUTE, DEAD_LETTERED_AT_ATTRIBUTE } from './sqs-operations.js';

/** Options of {@link SqsHttpEndpoint}. */
export interface SqsHttpEndpointOptions {
  /** The bus whose queues (and their `<queue>-dlq`) the endpoint serves. */
  bus: LocalEventBus;
  /** TCP port for {@link SqsHttpEndpoint.listen}; 0 (the default) picks a free one. Listens on 127.0.0.1 only. */
  port?: number;
  /**
   * `http://host:port` that queue URLs are built on (`<base>/<account>/<queue>`). Default: {@link SqsHttpEndpoint.url}
   * once listening, else the request's `Host` (when a host process mounts {@link SqsHttpEndpoint.handle} on its own port).
   */
  queueUrlBase?: string;
  /** Region of the queues' ARNs. Default: the bus's envelope region. */
  region?: string;
  /** Largest request body accepted, in bytes. Default 2 MiB (a 256 KiB batch, JSON-escaped). */
  maxBodyBytes?: number;
}

/**
 * SQS over HTTP (AWS JSON 1.0, as `@aws-sdk/client-sqs` speaks it) on 127.0.0.1, in front of the
 * embedded bus: each service queue is an SQS queue `<base>/000000000000/<queue>` with a redrive
 * policy to `<queue>-dlq`, so the SQS consumer adapter (and the AWS CLI) run unchanged against the
 * embedded mode.
 *
 * Operations: GetQueueUrl, ListQueues, GetQueueAttributes, SendMessage(Batch), ReceiveMessage (long
 * polling on the bus's own wait), DeleteMessage(Batch), ChangeMessageVisibility(Batch). A message
 * body is the event's JSON as EventBridge delivers it to an SQS target; SendMessage must send one
 * (`InvalidMessageContents` otherwise). SendMessage to `<queue>-dlq` dead-letters the event, with
 * the reason from the `nightshift-dead-letter-reason` attribute; ReceiveMessage on it returns the
 * dead letters with that attribute and `nightshift-dead-lettered-at` (when each was dead-lettered).
 * Receipt handles follow SQS: DeleteMessage with a handle that is no longer the message's latest
 * delivery succeeds and deletes nothing (the bus's `ack` returns false), ChangeMessageVisibility of a message not in flight is `MessageNotInflight`, a handle that
 * is not one of this queue's is `ReceiptHandleIsInvalid`. Other SQS operations answer
 * `UnsupportedOperation`, unknown ones `UnknownOperationException`. Errors carry AWS's `__type`,
 * status and `x-amzn-query-error` header, so the SDK raises its typed exceptions.
 *
 * Signatures (SigV4) are checked by the embedded platform's gateway in front of it, not here; served
 * on its own (`listen()`), it trusts its loopback callers.
 */
export class SqsHttpEndpoint extends LoopbackHttpServer {
  private readonly operations: SqsOperations;
  private readonly maxBodyBytes: number;
  /** Requests under way (long polls above all): aborted by {@link close}, which waits for their answers. */
  private readonly inFlight = new Map<AbortController, Promise<void>>();

  constructor(private readonly options: SqsHttpEndpointOptions) {
    super({ port: options.port, notListening: () => new BusClosedError('SQS endpoint') });
    this.operations = new SqsOperations(options.bus, options.region ?? options.bus.region);
    this.maxBodyBytes = options.maxBodyBytes ?? 2 * 1024 * 1024;
  }

  /**
   * Ends pending long polls (they answer with no messages), then stops listening: every connection
   * is idle once the answers are out, so keep-alive does not hold the close for seconds.
   */
  override async close(): Promise<void> {
    const answering = [...this.inFlight].map(([c, answered]) => {
      c.abort();
      return answered;
    });
    await Promise.allSettled(answering);
    await super.close();
  }

  /**
   * Answers one SQS request (`POST /`, `X-Amz-Target: AmazonSQS.<Op>`). For a host that serves several
   * AWS endpoints on one loopback port and routes here by target. Never rejects: every failure is an
   * SQS error response.
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    const answered = this.answer(req, res, abort.signal);
    this.inFlight.set(abort, answered);
    const onClose = () => abort.abort();
    // Closed before the answer: the client gave up (an aborted long poll), so stop waiting for it.
    res.once('close', onClose);
    try {
      await answered;
    } finally {
      this.inFlight.delete(abort);
      res.off('close', onClose);
    }
  }

  private async answer(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    try {
      const { operation, body } = await this.parseRequest(req);
      const result = await operation(body, { baseUrl: this.baseUrl(req), signal });
      sendAwsJson(res, 200, result, { contentType: SQS_CONTENT_TYPE });
    } catch (e) {
      const err = toWireError(e);
      const queryError = err.queryErrorHeader;
      try {
        sendAwsJson(res, err.status, { __type: err.type, message: err.message }, {
          contentType: SQS_CONTENT_TYPE,
          ...(queryError !== undefined && { headers: { 'x-amzn-query-error': queryError } }),
        });
      } catch {
        // The connection is gone; there is no one left to answer.
        res.destroy();
      }
    }
  }

  private async parseRequest(req: IncomingMessage) {
    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      const message = `${req.method} ${req.url} is not an SQS operation (POST / expected)`;
      throw new SqsWireError(404, 'UnknownOperationException', message, 'com.amazon.coral.service#UnknownOperationException');
    }
    const target = header(req, 'x-amz-target') ?? '';
    const name = target.startsWith(SQS_TARGET_PREFIX) ? target.slice(SQS_TARGET_PREFIX.length) : undefined;
    const operation = name === undefined ? undefined : this.operations.operations.get(name);
    if (!operation) {
      if (name !== undefined && UNSUPPORTED_SQS_OPERATIONS.has(name)) throw sqsErrors.unsupportedOperation(name);
      throw sqsErrors.unknownOperation(`Missing or unknown X-Amz-Target ${JSON.stringify(target)} (expected ${SQS_TARGET_PREFIX}<Operation>)`);
    }
    const contentType = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (contentType !== SQS_CONTENT_TYPE) {
      throw sqsErrors.serialization(`Content-Type must be ${SQS_CONTENT_TYPE}, got ${JSON.stringify(contentType ?? '')}`);
    }
    const raw = (await readBody(req, this.maxBodyBytes)).toString('utf8');
    let body: unknown;
    try {
      body = raw.trim() === '' ? {} : JSON.parse(raw);
    } catch (e) {
      throw sqsErrors.serialization(`Request body is not valid JSON: ${messageOf(e)}`);
    }
    if (!isObject(body)) throw sqsErrors.serialization('Request body must be a JSON object');
    return { operation, body: body as JsonObject };
  }

  private baseUrl(req: IncomingMessage): string {
    if (this.options.queueUrlBase !== undefined) return this.options.queueUrlBase.replace(/\/+$/, '');
    if (this.listening) return this.url;
    return `http://${header(req, 'host') ?? '127.0.0.1'}`;
  }
}

function toWireError(e: unknown): SqsWireError {
  if (e instanceof SqsWireError) return e;
  if (e instanceof RequestBodyTooLargeError) return sqsErrors.requestEntityTooLarge(e.message);
  if (e instanceof BusClosedError) return sqsErrors.serviceUnavailable(e.message);
  if (e instanceof UnknownQueueError) return sqsErrors.queueDoesNotExist();
  return sqsErrors.internalFailure(messageOf(e));
}
