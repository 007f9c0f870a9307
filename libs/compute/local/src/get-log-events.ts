/**
 * CloudWatch Logs' GetLogEvents as pure functions over a stream's text: the request checked as
 * AWS checks it, the text as events, and the page a request answers. The HTTP side is
 * `LogsHttpEndpoint` (logs-endpoint.ts).
 */

// GetLogEvents' own limits: up to 10,000 events, and as many as fit in a 1 MB response.
const MAX_LIMIT = 10_000;
const MAX_PAGE_BYTES = 1024 * 1024;
// `<ISO-8601> text`, as the local compute environment stamps each line of a child's output.
const STAMPED = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2}))(?:\s|$)/;
const LOG_GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const LOG_GROUP_ARN = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(?::\*)?$/;
const TOKEN = /^([fb])\/(\d{1,15})$/;

/** An error in AWS JSON 1.1's shape: HTTP status, `__type`, message. */
export class AwsJsonError {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly message: string,
  ) {}
}

/** One event as GetLogEvents answers it. */
export interface OutputLogEvent {
  timestamp: number;
  message: string;
}

/** What a GetLogEvents request asks, checked; the log group by name (an ARN identifier is reduced to it). */
export interface GetLogEventsInput {
  logGroupName: string;
  logStreamName: string;
  startTime?: number;
  endTime?: number;
  nextToken?: string;
  limit: number;
  startFromHead: boolean;
}

/** A GetLogEvents page: events in time order and the two tokens. */
export interface GetLogEventsPage {
  events: OutputLogEvent[];
  nextForwardToken: string;
  nextBackwardToken: string;
}

/**
 * The request body checked as AWS checks it: wrong JSON types are a SerializationException, broken
 * constraints an InvalidParameterException worded as AWS words it.
 */
export function parseGetLogEventsInput(body: unknown): GetLogEventsInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AwsJsonError(400, 'SerializationException', 'Request body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  const field = <T>(name: string, type: 'string' | 'number' | 'boolean'): T | undefined => {
    const v = b[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== type || (type === 'number' && !Number.isInteger(v))) {
      throw new AwsJsonError(400, 'SerializationException', `${name} must be a${type === 'number' ? 'n integer' : ` ${type}`}`);
    }
    return v as T;
  };
  const invalid = (name: string, value: unknown, constraint: string) =>
    new AwsJsonError(
      400,
      'InvalidParameterException',
      `1 validation error detected: Value '${String(value)}' at '${name}' failed to satisfy constraint: ${constraint}`,
    );

  const groupName = field<string>('logGroupName', 'string');
  const groupIdentifier = field<string>('logGroupIdentifier', 'string');
  if ((groupName === undefined) === (groupIdentifier === undefined)) {
    throw new AwsJsonError(400, 'InvalidParameterException', 'Exactly one of logGroupName and logGroupIdentifier must be specified');
  }
  if (groupName !== undefined && !LOG_GROUP_NAME.test(groupName)) {
    throw invalid('logGroupName', groupName, 'Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+ and have length between 1 and 512');
  }
  if (groupIdentifier !== undefined && (groupIdentifier.length < 1 || groupIdentifier.length > 2048)) {
    throw invalid('logGroupIdentifier', groupIdentifier, 'Member must have length between 1 and 2048');
  }
  const logStreamName = field<string>('logStreamName', 'string');
  if (logStreamName === undefined) throw invalid('logStreamName', null, 'Member must not be null');
  if (logStreamName.length < 1 || logStreamName.length > 512) {
    throw invalid('logStreamName', logStreamName, 'Member must have length between 1 and 512');
  }
  if (/[:*]/.test(logStreamName)) throw invalid('logStreamName', logStreamName, 'Member must satisfy regular expression pattern: [^:*]*');
  const limit = field<number>('limit', 'number');
  if (limit !== undefined && (limit < 1 || limit > MAX_LIMIT)) throw invalid('limit', limit, `Member must have value between 1 and ${MAX_LIMIT}`);
  const nextToken = field<string>('nextToken', 'string');
  if (nextToken === '') throw invalid('nextToken', nextToken, 'Member must have length greater than or equal to 1');
  const startTime = field<number>('startTime', 'number');
  const endTime = field<number>('endTime', 'number');
  for (const [name, v] of [['startTime', startTime], ['endTime', endTime]] as const) {
    if (v !== undefined && v < 0) throw invalid(name, v, 'Member must have value greater than or equal to 0');
  }
  field<boolean>('unmask', 'boolean');
  return {
    logGroupName: groupName ?? LOG_GROUP_ARN.exec(groupIdentifier ?? '')?.[1] ?? (groupIdentifier as string),
    logStreamName,
    ...(startTime !== undefined ? { startTime } : {}),
    ...(endTime !== undefined ? { endTime } : {}),
    ...(nextToken !== undefined ? { nextToken } : {}),
    limit: limit ?? MAX_LIMIT,
    startFromHead: field<boolean>('startFromHead', 'boolean') ?? false,
  };
}

/**
 * One event per line, in file order (a final newline ends the last line, it does not start
 * another). A line stamped `<ISO-8601> …` is at that time, any other at `modifiedAt`; the message
 * is the whole line.
 */
export function toLogEvents(text: string, modifiedAt: Date): OutputLogEvent[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((message) => {
    const stamp = STAMPED.exec(message)?.[1];
    const parsed = stamp === undefined ? NaN : Date.parse(stamp);
    return { timestamp: Number.isNaN(parsed) ? modifiedAt.getTime() : parsed, message };
  });
}

/**
 * The page a request answers over `events` (already filtered by time). Tokens are positions
 * between events: `f/<n>` reads forward from event n, `b/<n>` backward from just before it, and
 * the token's own direction decides; a page [s, e) answers `f/e` and `b/s`, so at either end of the
 * stream the token passed in comes back, as AWS documents. Positions stay valid while a stream
 * grows, which is all a job's log does.
 */
export function pageOf(events: readonly OutputLogEvent[], input: GetLogEventsInput): GetLogEventsPage {
  let forward = input.startFromHead;
  let from = forward ? 0 : events.length;
  if (input.nextToken !== undefined) {
    const token = TOKEN.exec(input.nextToken);
    if (!token) throw new AwsJsonError(400, 'InvalidParameterException', 'The specified nextToken is invalid.');
    forward = token[1] === 'f';
    from = Math.min(Number(token[2]), events.length);
  }
  let start = from;
  let end = from;
  let bytes = 0;
  // At least one event per page whatever its size, or a reader could never get past it.
  const fits = (i: number) => end - start < input.limit && (end === start || bytes + Buffer.byteLength(events[i].message) <= MAX_PAGE_BYTES);
  if (forward) {
    for (; end < events.length && fits(end); end += 1) bytes += Buffer.byteLength(events[end].message);
  } else {
    for (; start > 0 && fits(start - 1); start -= 1) bytes += Buffer.byteLength(events[start - 1].message);
  }
  return { events: events.slice(start, end), nextForwardToken: `f/${end}`, nextBackwardToken: `b/${start}` };
}
