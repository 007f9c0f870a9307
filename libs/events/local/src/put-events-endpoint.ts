import type { IncomingMessage, ServerResponse } from 'node:http';
import { header, LoopbackHttpServer, readBody, RequestBodyTooLargeError, sendAwsJson } from '@nightshift/aws-wire';
import { BusClosedError, messageOf, PutEventsValidationError } from './errors.js';
import { validatePutEventsRequest } from './put-events.js';
import type { PutEventsRequestEntry, PutEventsResult, PutEventsTarget } from '@nightshift/events-domain';

/** Why an entry is refused by {@link PutEventsHttpEndpointOptions.authorize}: EventBridge's per-entry error. */
export interface PutEventsEntryRefusal {
  ErrorCode: string;
  ErrorMessage: string;
}

/** Options of {@link PutEventsHttpEndpoint}. */
export interface PutEventsHttpEndpointOptions {
  /** Where accepted entries go (the {@link LocalEventBus}). */
  bus: PutEventsTarget;
  /** TCP port; 0 (the default) picks a free one. The endpoint listens on 127.0.0.1 only. */
  port?: number;
  /** Largest request body accepted, in bytes. Default 1 MiB (the 256 KiB of entries, JSON-escaped). */
  maxBodyBytes?: number;
  /**
   * Whether the caller of this request may publish this entry (IAM's `events:source` condition):
   * undefined lets it through, a refusal becomes that entry's error (the others are still put), as
   * EventBridge answers `NotAuthorizedForSourceException`. Default: every entry is allowed.
   */
  authorize?: (req: IncomingMessage, entry: PutEventsRequestEntry) => PutEventsEntryRefusal | undefined;
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
 * Signatures (SigV4) are checked by the embedded platform's gateway in front of it, not here; served
 * on its own (`listen()`), it trusts its loopback callers.
 */
export class PutEventsHttpEndpoint extends LoopbackHttpServer {
  private readonly maxBodyBytes: number;

  constructor(private readonly options: PutEventsHttpEndpointOptions) {
    super({ port: options.port, notListening: () => new BusClosedError('PutEvents endpoint') });
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  }

  /** Answers one request (never rejects): for a server of its own ({@link listen}) or a router that serves several AWS APIs on one port. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const entries = await this.parseRequest(req);
      const result = await this.putAuthorized(req, entries);
      sendAwsJson(res, 200, result, { contentType: CONTENT_TYPE });
    } catch (e) {
      const err = toWireError(e);
      sendAwsJson(res, err.status, { __type: err.type, message: err.message }, { contentType: CONTENT_TYPE, errorType: err.type });
    }
  }

  /** Puts the entries the caller may publish; the refused ones keep their place in the answer, with their error. */
  private async putAuthorized(req: IncomingMessage, entries: PutEventsRequestEntry[]): Promise<PutEventsResult> {
    const authorize = this.options.authorize;
    if (!authorize) return this.options.bus.putEvents(entries);
    validatePutEventsRequest(entries);
    const refusals = entries.map((e) => authorize(req, e));
    const allowed = entries.filter((_, i) => refusals[i] === undefined);
    const put = allowed.length > 0 ? await this.options.bus.putEvents(allowed) : { FailedEntryCount: 0, Entries: [] };
    let next = 0;
    const results = refusals.map((refusal) => refusal ?? put.Entries[next++]!);
    return { FailedEntryCount: put.FailedEntryCount + (entries.length - allowed.length), Entries: results };
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

function toWireError(e: unknown): WireError {
  if (e instanceof WireError) return e;
  if (e instanceof RequestBodyTooLargeError) return new WireError(413, 'RequestEntityTooLargeException', e.message);
  if (e instanceof PutEventsValidationError) return new WireError(400, 'ValidationException', e.message);
  if (e instanceof BusClosedError) return new WireError(503, 'ServiceUnavailableException', e.message);
  return new WireError(500, 'InternalException', messageOf(e));
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
