import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BusClosedError, messageOf, UnknownQueueError } from './errors.js';
import type { LocalEventBus } from './local-event-bus.js';
import { SqsOperations, UNSUPPORTED_SQS_OPERATIONS } from './sqs-operations.js';
import { header, isObject, readBody, sendJson, SQS_CONTENT_TYPE, SQS_TARGET_PREFIX, sqsErrors, SqsWireError, type JsonObject } from './sqs-wire.js';

export { DEAD_LETTER_REASON_ATTRIBUTE } from './sqs-operations.js';

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
 * dead letters with that attribute. Receipt handles follow SQS: DeleteMessage with a handle that is
 * no longer the message's latest delivery succeeds and deletes nothing (the bus's `ack` returns
 * false), ChangeMessageVisibility of a message not in flight is `MessageNotInflight`, a handle that
 * is not one of this queue's is `ReceiptHandleIsInvalid`. Other SQS operations answer
 * `UnsupportedOperation`, unknown ones `UnknownOperationException`. Errors carry AWS's `__type`,
 * status and `x-amzn-query-error` header, so the SDK raises its typed exceptions.
 *
 * Signatures (SigV4) are not checked: the endpoint is for loopback only and trusts its machine.
 */
export class SqsHttpEndpoint {
  private server: Server | undefined;
  private port: number | undefined;
  private readonly operations: SqsOperations;
  private readonly maxBodyBytes: number;
  /** Requests under way (long polls above all): aborted by {@link close}, which waits for their answers. */
  private readonly inFlight = new Map<AbortController, Promise<void>>();

  constructor(private readonly options: SqsHttpEndpointOptions) {
    this.operations = new SqsOperations(options.bus, options.region ?? options.bus.region);
    this.maxBodyBytes = options.maxBodyBytes ?? 2 * 1024 * 1024;
  }

  /** Starts listening on 127.0.0.1; resolves with {@link url}. */
  async listen(): Promise<string> {
    if (this.server) return this.url;
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.url;
  }

  /** `http://127.0.0.1:<port>`; throws `BusClosedError` before `listen()` or after `close()`. */
  get url(): string {
    if (this.port === undefined) throw new BusClosedError('SQS endpoint');
    return `http://127.0.0.1:${this.port}`;
  }

  /** Ends pending long polls (they answer with no messages), stops listening and closes idle connections. */
  async close(): Promise<void> {
    const answering = [...this.inFlight].map(([c, answered]) => {
      c.abort();
      return answered;
    });
    await Promise.allSettled(answering);
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.port = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Every connection is idle now that the answers are out (keep-alive would otherwise hold close() for seconds).
      server.closeIdleConnections();
    });
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
    const requestId = randomUUID();
    try {
      const { operation, body } = await this.parseRequest(req);
      const result = await operation(body, { baseUrl: this.baseUrl(req), signal });
      sendJson(res, 200, requestId, result);
    } catch (e) {
      const err = toWireError(e);
      try {
        sendJson(res, err.status, requestId, { __type: err.type, message: err.message }, err.queryErrorHeader);
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
    if (this.port !== undefined) return this.url;
    return `http://${header(req, 'host') ?? '127.0.0.1'}`;
  }
}

function toWireError(e: unknown): SqsWireError {
  if (e instanceof SqsWireError) return e;
  if (e instanceof BusClosedError) return sqsErrors.serviceUnavailable(e.message);
  if (e instanceof UnknownQueueError) return sqsErrors.queueDoesNotExist();
  return sqsErrors.internalFailure(messageOf(e));
}
