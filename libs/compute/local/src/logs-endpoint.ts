import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DirectoryJobLogs } from './directory-job-logs.js';
import { InvalidComputeRequestError, InvalidLogStreamError } from './errors.js';
import { AwsJsonError, type GetLogEventsInput, type GetLogEventsPage, pageOf, parseGetLogEventsInput, toLogEvents } from './get-log-events.js';

/** Options of {@link LogsHttpEndpoint}. */
export interface LogsHttpEndpointOptions {
  /** The streams served: one file per stream, as the local compute environment writes them. */
  logs: DirectoryJobLogs;
  /** The one log group served; any other is a ResourceNotFoundException. Default `/aws/batch/job` (AWS Batch's). */
  logGroupName?: string;
  /** TCP port for {@link LogsHttpEndpoint.listen}; 0 (the default) picks a free one. Loopback only. */
  port?: number;
}

const TARGET_PREFIX = 'Logs_20140328.';
const GET_LOG_EVENTS = `${TARGET_PREFIX}GetLogEvents`;
const CONTENT_TYPE = 'application/x-amz-json-1.1';
// A GetLogEvents request is a few names and numbers; anything near this is not one.
const MAX_BODY_BYTES = 64 * 1024;

/**
 * CloudWatch Logs' GetLogEvents (AWS JSON 1.1, `X-Amz-Target: Logs_20140328.GetLogEvents`) over
 * {@link DirectoryJobLogs}, so that an unmodified `CloudWatchLogsClient` (and the CloudWatch-based
 * `JobLogs` adapter) reads the local compute environment's logs as it reads AWS's.
 *
 * Each line of a stream's file is one event, in file order (the order it was written). A line that
 * starts with an ISO-8601 time (the worker's `<ISO> text`) has that time as its timestamp, any other
 * the file's mtime; the message is the whole line (semantics in get-log-events.ts). `limit` (1..10,000, default as many as fit in
 * 1 MB), `startFromHead`, `startTime`/`endTime` and the tokens behave as AWS documents them: pages
 * are in time order, `nextForwardToken`/`nextBackwardToken` are opaque, and at either end of the
 * stream the token passed in comes back. A token's own direction decides which way it pages.
 *
 * Errors have AWS's shape (`{"__type", "message"}` and `x-amzn-ErrorType`): another log group, or a
 * stream with no file, is `ResourceNotFoundException`; a parameter AWS would refuse is
 * `InvalidParameterException`; a body that is not JSON of the right types is `SerializationException`;
 * any other operation `UnknownOperationException`; a failure to read the file
 * `ServiceUnavailableException` (503, which clients retry). Signatures are not checked: the
 * endpoint trusts its machine. Not modelled: `unmask` (nothing is masked), `ingestionTime`.
 * Each request reads the stream's whole file, which is fine for job logs of a few MiB.
 */
export class LogsHttpEndpoint {
  private server: Server | undefined;
  private port: number | undefined;
  private readonly logGroupName: string;

  constructor(private readonly options: LogsHttpEndpointOptions) {
    this.logGroupName = options.logGroupName ?? '/aws/batch/job';
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

  /** `http://127.0.0.1:<port>`; an InvalidComputeRequestError before `listen()` or after `close()`. */
  get url(): string {
    if (this.port === undefined) throw new InvalidComputeRequestError('the logs endpoint is not listening: call listen() first');
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

  /**
   * Answers one request, whichever server received it (a host may mount this endpoint behind its
   * own port, routing `X-Amz-Target: Logs_20140328.*` here). Never rejects: every failure becomes
   * an AWS error response, or a destroyed socket when the response had already begun.
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      const input = await parseRequest(req);
      send(res, 200, requestId, await this.getLogEvents(input));
    } catch (e) {
      const err =
        e instanceof AwsJsonError ? e : new AwsJsonError(503, 'ServiceUnavailableException', e instanceof Error ? e.message : String(e));
      try {
        send(res, err.status, requestId, { __type: err.type, message: err.message }, err.type);
      } catch {
        res.destroy();
      }
    }
  }

  private async getLogEvents(input: GetLogEventsInput): Promise<GetLogEventsPage> {
    if (input.logGroupName !== this.logGroupName) {
      throw new AwsJsonError(400, 'ResourceNotFoundException', 'The specified log group does not exist.');
    }
    let stream;
    try {
      stream = await this.options.logs.readAll(input.logStreamName);
    } catch (e) {
      // A name AWS accepts but no file can have (`..`, `.`, spaces): no such stream here.
      if (!(e instanceof InvalidLogStreamError)) throw e;
    }
    if (!stream) throw new AwsJsonError(400, 'ResourceNotFoundException', 'The specified log stream does not exist.');
    const { startTime, endTime } = input;
    const events = toLogEvents(stream.text, stream.modifiedAt).filter(
      (e) => (startTime === undefined || e.timestamp >= startTime) && (endTime === undefined || e.timestamp < endTime),
    );
    return pageOf(events, input);
  }
}

async function parseRequest(req: IncomingMessage): Promise<GetLogEventsInput> {
  const body = await readBody(req);
  if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
    throw new AwsJsonError(404, 'UnknownOperationException', `${req.method} ${req.url} is not a CloudWatch Logs operation (POST / expected)`);
  }
  const target = header(req, 'x-amz-target');
  if (target !== GET_LOG_EVENTS) {
    throw new AwsJsonError(
      400,
      'UnknownOperationException',
      target?.startsWith(TARGET_PREFIX)
        ? `Operation ${target.slice(TARGET_PREFIX.length)} is not supported by the embedded logs endpoint (only GetLogEvents)`
        : `Missing or unknown X-Amz-Target ${JSON.stringify(target ?? '')} (expected ${GET_LOG_EVENTS})`,
    );
  }
  const contentType = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (contentType !== CONTENT_TYPE) throw new AwsJsonError(400, 'SerializationException', `Content-Type must be ${CONTENT_TYPE}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AwsJsonError(400, 'SerializationException', 'Request body is not valid JSON');
  }
  return parseGetLogEventsInput(parsed);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const tooLarge = () => new AwsJsonError(413, 'SerializationException', `Request body exceeds ${MAX_BODY_BYTES} bytes`);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // An oversized body is read to its end and dropped, so the error reaches the client intact.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
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
