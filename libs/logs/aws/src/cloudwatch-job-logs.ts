import { type CloudWatchLogsClient, GetLogEventsCommand, ResourceNotFoundException } from '@aws-sdk/client-cloudwatch-logs';
import { awsErrorMessage, classifyAwsError } from '@nightshift/aws-wire';
import { InvalidLogStreamError, logStreamNameProblem, type JobLog, type JobLogs } from '@nightshift/jobs-domain';
import { InvalidJobLogsReadError, JobLogsRequestError, JobLogsUnavailableError } from './errors.js';

/** Options of {@link CloudWatchJobLogs}. */
export interface CloudWatchJobLogsOptions {
  /** The log group the streams are in. Default `/aws/batch/job`, where AWS Batch's default `awslogs` driver writes. */
  logGroupName?: string;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
const DEFAULT_LOG_GROUP = '/aws/batch/job';

/**
 * `JobLogs` over CloudWatch Logs' GetLogEvents, through one injected `CloudWatchLogsClient` (its
 * endpoint is the SDK's own configuration: AWS, or the embedded platform's loopback endpoint).
 *
 * Reads from the tail: `startFromHead: false`, then `nextBackwardToken` page by page until
 * `maxBytes` is reached or the token comes back unchanged (the head of the stream; empty pages
 * before it are normal in CloudWatch and are paged through). The text is the events' messages
 * joined by `\n` in time order, without a final newline; when older events do not fit, the oldest
 * kept message is cut to fill `maxBytes` exactly (at a character boundary) and `truncated` is true,
 * as the local adapter keeps a file's last bytes.
 *
 * Errors: no such group or stream is `undefined` (retention may have removed it); a name that is
 * not a stream name is an {@link InvalidLogStreamError} before any request; throttling, a 5xx or a
 * network failure is a retryable {@link JobLogsUnavailableError}; anything else a
 * {@link JobLogsRequestError} with the SDK's error as `cause`.
 */
export class CloudWatchJobLogs implements JobLogs {
  private readonly logGroupName: string;

  constructor(
    private readonly client: CloudWatchLogsClient,
    options: CloudWatchJobLogsOptions = {},
  ) {
    this.logGroupName = options.logGroupName ?? DEFAULT_LOG_GROUP;
  }

  async read(logStreamName: string, options: { maxBytes?: number } = {}): Promise<JobLog | undefined> {
    const problem = logStreamNameProblem(logStreamName);
    if (problem !== undefined) throw new InvalidLogStreamError(String(logStreamName), problem);
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!(Number.isInteger(maxBytes) && maxBytes > 0)) throw new InvalidJobLogsReadError(`maxBytes must be a positive integer, got ${maxBytes}`);

    // Newest first: each part is one message (or the kept tail of one), each page older than the last.
    const parts: Buffer[] = [];
    let used = 0;
    let truncated = false;
    let token: string | undefined;
    pages: for (;;) {
      const page = await this.page(logStreamName, token);
      if (page === undefined) return undefined;
      const events = page.events ?? [];
      for (let i = events.length - 1; i >= 0; i -= 1) {
        const message = Buffer.from(events[i].message ?? '', 'utf8');
        const separator = parts.length > 0 ? 1 : 0;
        const room = maxBytes - used - separator;
        if (message.length <= room) {
          parts.push(message);
          used += separator + message.length;
          continue;
        }
        truncated = true;
        if (room > 0) {
          const tail = fromCharBoundary(message.subarray(message.length - room));
          parts.push(tail);
          used += separator + tail.length;
        }
        break pages;
      }
      const next = page.nextBackwardToken;
      if (next === undefined || next === token) break;
      token = next;
    }
    const text = Buffer.concat(parts.reverse().flatMap((p, i) => (i === 0 ? [p] : [NEWLINE, p]))).toString('utf8');
    return { text, truncated, bytes: Buffer.byteLength(text) };
  }

  private async page(logStreamName: string, nextToken: string | undefined) {
    try {
      return await this.client.send(
        new GetLogEventsCommand({
          logGroupName: this.logGroupName,
          logStreamName,
          startFromHead: false,
          ...(nextToken !== undefined ? { nextToken } : {}),
        }),
      );
    } catch (e) {
      if (e instanceof ResourceNotFoundException) return undefined;
      const what = `GetLogEvents ${this.logGroupName} ${logStreamName} failed: ${awsErrorMessage(e)}`;
      throw classifyAwsError(e) === 'transient' ? new JobLogsUnavailableError(what, { cause: e }) : new JobLogsRequestError(what, { cause: e });
    }
  }
}

const NEWLINE = Buffer.from('\n');

/** Drops the continuation bytes of a character whose first bytes were cut off. */
function fromCharBoundary(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start += 1;
  return bytes.subarray(start);
}
