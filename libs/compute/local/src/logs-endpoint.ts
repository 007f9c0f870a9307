import type { IncomingMessage, ServerResponse } from 'node:http';
import { header, LoopbackHttpServer, readBody, RequestBodyTooLargeError, sendAwsJson } from '@nightshift/aws-wire';
import { logStreamNameProblem } from '@nightshift/jobs-domain';
import type { DirectoryJobLogs } from './directory-job-logs.js';
import { InvalidComputeRequestError } from './errors.js';
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
 * starts with an ISO-8601 time (`<ISO> text`, as the compute environment stamps each line it reads) has that time as its timestamp, any other
 * the file's mtime; the message is the whole line (semantics in get-log-events.ts). `limit` (1..10,000, default as many as fit in
 * 1 MB), `startFromHead`, `startTime`/`endTime` and the tokens behave as AWS documents them: pages
 * are in time order, `nextForwardToken`/`nextBackwardToken` are opaque, and at either end of the
 * stream the token passed in comes back. A token's own direction decides which way it pages.
 *
 * Errors have AWS's shape (`{"__type", "message"}` and `x-amzn-ErrorType`): another log group, or a
 * stream with no file, is `ResourceNotFoundException`; a parameter AWS would refuse is
 * `InvalidParameterException`; a body that is not JSON of the right types is `SerializationException`;
 * any other operation `UnknownOperationException`; a failure to read the file
 * `ServiceUnavailableException` (503, which clients retry). Signatures are checked by the
 * platform's gateway in front of it, not here. Not modelled: `unmask` (nothing is masked), `ingestionTime`.
 * Each request reads the stream's whole file, which is fine for job logs of a few MiB.
 */
export class LogsHttpEndpoint extends LoopbackHttpServer {
  private readonly logGroupName: string;

  constructor(private readonly options: LogsHttpEndpointOptions) {
    super({ port: options.port, notListening: () => new InvalidComputeRequestError('the logs endpoint is not listening: call listen() first') });
    this.logGroupName = options.logGroupName ?? '/aws/batch/job';
  }

  /**
   * Answers one request, whichever server received it (a host may mount this endpoint behind its
   * own port, routing `X-Amz-Target: Logs_20140328.*` here). Never rejects: every failure becomes
   * an AWS error response, or a destroyed socket when the response had already begun.
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const input = await parseRequest(req);
      sendAwsJson(res, 200, await this.getLogEvents(input), { contentType: CONTENT_TYPE });
    } catch (e) {
      const err = toWireError(e);
      try {
        sendAwsJson(res, err.status, { __type: err.type, message: err.message }, { contentType: CONTENT_TYPE, errorType: err.type });
      } catch {
        res.destroy();
      }
    }
  }

  private async getLogEvents(input: GetLogEventsInput): Promise<GetLogEventsPage> {
    if (input.logGroupName !== this.logGroupName) {
      throw new AwsJsonError(400, 'ResourceNotFoundException', 'The specified log group does not exist.');
    }
    // A name AWS accepts but no file can have (`..`, `.`, spaces): no such stream here.
    const stream = logStreamNameProblem(input.logStreamName) === undefined ? await this.options.logs.readAll(input.logStreamName) : undefined;
    if (!stream) throw new AwsJsonError(400, 'ResourceNotFoundException', 'The specified log stream does not exist.');
    const { startTime, endTime } = input;
    const events = toLogEvents(stream.text, stream.modifiedAt).filter(
      (e) => (startTime === undefined || e.timestamp >= startTime) && (endTime === undefined || e.timestamp < endTime),
    );
    return pageOf(events, input);
  }
}

async function parseRequest(req: IncomingMessage): Promise<GetLogEventsInput> {
  const body = await readBody(req, MAX_BODY_BYTES);
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

function toWireError(e: unknown): AwsJsonError {
  if (e instanceof AwsJsonError) return e;
  if (e instanceof RequestBodyTooLargeError) return new AwsJsonError(413, 'SerializationException', e.message);
  return new AwsJsonError(503, 'ServiceUnavailableException', e instanceof Error ? e.message : String(e));
}
