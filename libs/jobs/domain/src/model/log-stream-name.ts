// Segments of letters, digits, "_" and "-" joined by "/": AWS Batch's `<jobDefinition>/default/<task id>`,
// and nothing that could reach outside a log directory (`..`, absolute paths, backslashes).
const LOG_STREAM_NAME = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;

/** CloudWatch Logs' limit on a log stream name. */
export const MAX_LOG_STREAM_NAME_LENGTH = 512;

/**
 * Why `name` is not a log stream name a `JobLogs` adapter reads, or undefined when it is one: one
 * rule for every adapter, so a file directory and CloudWatch Logs refuse the same names.
 */
export function logStreamNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `expected a string, got ${typeof name}`;
  if (name.length > MAX_LOG_STREAM_NAME_LENGTH) return `longer than ${MAX_LOG_STREAM_NAME_LENGTH} characters`;
  if (!LOG_STREAM_NAME.test(name)) return 'expected segments of letters, digits, "_" or "-" joined by "/"';
  return undefined;
}
