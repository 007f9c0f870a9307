import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BusClosedError, messageOf, PutEventsValidationError } from './errors.js';
import type { PutEventsRequestEntry, PutEventsTarget } from '@nightshift/events-domain';

/** Options of {@link PutEventsHttpEndpoint}. */
export interface PutEventsHttpEndpointOptions {
  /** Where accepted entries go (the {@link LocalEventBus}). */
  bus: PutEventsTarget;
  /** TCP port; 0 (the default) picks a free one. The endpoint listens on 127.0.0.1 only. */
  port?: number;
  /** Largest request body accepted, in bytes. Default 1 MiB (the 256 KiB of entries, JSON-escaped). */
  maxBodyBytes?: number;
}

const TARGET_PREFIX = 'AWSEvents.';
const PUT_EVENTS_TARGET = 'AWSEvents.PutEvents';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

/** An AWS JSON 1.1 error: HTTP status, `__type`, message. */
class WireError {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly message: string,
  ) {}
}

/**
 * EventBridge's PutEvents over HTTP (AWS JSON 1.1 protocol) on 127.0.0.1, in front of the embedded
 * bus, so that any EventBridge client (the unmodified `@aws-sdk/client-eventbridge` with `endpoint`
 * set to {@link url}, the AWS CLI with `--endpoint-url`) and other local processes can publish.
 *
 * `POST /` with `X-Amz-Target: AWSEvents.PutEvents` and body `{ "Entries": [...] }` answers 200
 * `{ FailedEntryCount, Entries }`. Errors use AWS's shape (`{"__type": ..., "message": ...}` and
 * the `x-amzn-ErrorType` header): `ValidationException` (400) for what EventBridge refuses as a
 * whole request, `SerializationException` (400) for a body that is not JSON of the right types,
 * `UnknownOperationException` (400) for any other operation. A refused request writes nothing.
 * Signatures (SigV4) are not checked: the endpoint is bound to loopback and trusts its machine.
 */
export class PutEventsHttpEndpoint {
  private server: Server | undefined;
  private port: number | undefined;
  private readonly maxBodyBytes: number;

  constructor(private readonly options: PutEventsHttpEndpointOptions) {
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  }

  /** Starts listening; resolves with {@link url}. */
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
    if (this.port === undefined) throw new BusClosedError('PutEvents endpoint');
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops accepting connections and closes idle keep-alive ones; in-flight requests finish. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.port = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  /** Answers one request (never rejects): for a server of its own ({@link listen}) or a router that serves several AWS APIs on one port. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      const entries = await this.parseRequest(req);
      const result = await this.options.bus.putEvents(entries);
      send(res, 200, requestId, result);
    } catch (e) {
      const err =
        e instanceof WireError
          ? e
          : e instanceof PutEventsValidationError
            ? new WireError(400, 'ValidationException', e.message)
            : e instanceof BusClosedError
              ? new WireError(503, 'ServiceUnavailableException', e.message)
              : new WireError(500, 'InternalException', messageOf(e));
      send(res, err.status, requestId, { __type: err.type, message: err.message }, err.type);
    }
  }

  private async parseRequest(req: IncomingMessage): Promise<PutEventsRequestEntry[]> {
    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      throw new WireError(404, 'UnknownOperationException', `${req.method} ${req.url} is not an EventBridge operation (POST / expected)`);
    }
    const target = header(req, 'x-amz-target');
    if (target !== PUT_EVENTS_TARGET) {
      throw new WireError(
        400,
        'UnknownOperationException',
        target?.startsWith(TARGET_PREFIX)
          ? `Operation ${target} is not supported by the embedded bus (only ${PUT_EVENTS_TARGET})`
          : `Missing or unknown X-Amz-Target ${JSON.stringify(target ?? '')} (expected ${PUT_EVENTS_TARGET})`,
      );
    }
    const contentType = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (contentType !== CONTENT_TYPE) {
      throw new WireError(400, 'SerializationException', `Content-Type must be ${CONTENT_TYPE}, got ${JSON.stringify(contentType ?? '')}`);
    }
    const body = await readBody(req, this.maxBodyBytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new WireError(400, 'SerializationException', `Request body is not valid JSON: ${messageOf(e)}`);
    }
    return toEntries(parsed);
  }
}

/** Maps the wire JSON onto PutEvents entries, refusing wrong types as AWS does (SerializationException). */
function toEntries(body: unknown): PutEventsRequestEntry[] {
  if (!isObject(body)) throw new WireError(400, 'SerializationException', 'Request body must be a JSON object');
  const raw = body.Entries;
  if (raw === undefined || raw === null) {
    throw new WireError(
      400,
      'ValidationException',
      "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
    );
  }
  if (!Array.isArray(raw)) throw new WireError(400, 'SerializationException', 'Entries must be a JSON array');
  return raw.map((item: unknown, i) => {
    if (!isObject(item)) throw new WireError(400, 'SerializationException', `Entries[${i}] must be a JSON object`);
    const entry: PutEventsRequestEntry = {};
    for (const field of ['Source', 'DetailType', 'Detail', 'EventBusName', 'TraceHeader'] as const) {
      const v = item[field];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') throw new WireError(400, 'SerializationException', `Entries[${i}].${field} must be a string`);
      entry[field] = v;
    }
    if (item.Resources !== undefined && item.Resources !== null) {
      if (!Array.isArray(item.Resources) || item.Resources.some((r) => typeof r !== 'string')) {
        throw new WireError(400, 'SerializationException', `Entries[${i}].Resources must be a list of strings`);
      }
      entry.Resources = item.Resources as string[];
    }
    if (item.Time !== undefined && item.Time !== null) {
      // AWS JSON 1.1 sends timestamps as epoch seconds.
      if (typeof item.Time !== 'number' || !Number.isFinite(item.Time)) {
        throw new WireError(400, 'SerializationException', `Entries[${i}].Time must be a timestamp in epoch seconds`);
      }
      entry.Time = new Date(item.Time * 1000);
    }
    return entry;
  });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new WireError(413, 'RequestEntityTooLargeException', `Request body exceeds ${limit} bytes`);
  if (Number(header(req, 'content-length') ?? 0) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // An oversized body is read to its end and dropped, so the 413 reaches the client intact.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => (size > limit ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, requestId: string, body: unknown, errorType?: string): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': requestId,
    ...(errorType !== undefined ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(payload);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
