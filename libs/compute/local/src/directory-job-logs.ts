import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidLogStreamError, logStreamNameProblem, type JobLog, type JobLogs } from '@nightshift/jobs-domain';
import { InvalidComputeRequestError } from './errors.js';

const DEFAULT_MAX_BYTES = 1024 * 1024;

/**
 * `JobLogs` over the local compute environment's `logDir`: each attempt's output is the file
 * `<logDir>/<logStreamName>` (`<jobDefinition>/<jobName>/<jobId>/attempt-<n>`), one line per event,
 * each stamped `<ISO-8601> ` with the time the compute environment read it from the child.
 *
 * A stream name is checked before it touches the file system (`logStreamNameProblem`: only segments
 * of letters, digits, `_` and `-` joined by `/`), so no name reaches outside `logDir`.
 */
export class DirectoryJobLogs implements JobLogs {
  constructor(private readonly logDir: string) {}

  /**
   * The stream's last `maxBytes` bytes (default 1 MiB), cut at a character boundary; `bytes` is
   * the size of `text` in bytes. Undefined when there is no such stream.
   *
   * @throws InvalidLogStreamError for a name that is not a stream name.
   * @throws InvalidComputeRequestError for a `maxBytes` that is not a positive integer.
   */
  async read(logStreamName: string, options: { maxBytes?: number } = {}): Promise<JobLog | undefined> {
    checkStreamName(logStreamName);
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!(Number.isInteger(maxBytes) && maxBytes > 0)) throw new InvalidComputeRequestError(`maxBytes must be a positive integer, got ${maxBytes}`);

    const file = await this.open(logStreamName);
    if (!file) return undefined;
    try {
      const stat = await file.stat();
      if (!stat.isFile()) return undefined;
      const length = Math.min(stat.size, maxBytes);
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, stat.size - length);
      let start = 0;
      const truncated = stat.size > maxBytes;
      // Cut mid-character: drop the continuation bytes of the character whose start was cut off.
      if (truncated) while (start < bytesRead && (buffer[start] & 0xc0) === 0x80) start += 1;
      const kept = buffer.subarray(start, bytesRead);
      return { text: kept.toString('utf8'), truncated, bytes: kept.length };
    } finally {
      await file.close();
    }
  }

  /**
   * The whole stream and when it was last written, for serving it as CloudWatch Logs events
   * (`LogsHttpEndpoint`, where a line without its own time gets the file's). Undefined when there
   * is no such stream.
   *
   * @throws InvalidLogStreamError for a name that is not a stream name.
   */
  async readAll(logStreamName: string): Promise<{ text: string; modifiedAt: Date } | undefined> {
    checkStreamName(logStreamName);
    const file = await this.open(logStreamName);
    if (!file) return undefined;
    try {
      const stat = await file.stat();
      if (!stat.isFile()) return undefined;
      return { text: (await file.readFile()).toString('utf8'), modifiedAt: stat.mtime };
    } finally {
      await file.close();
    }
  }

  private async open(logStreamName: string): Promise<FileHandle | undefined> {
    try {
      return await open(join(this.logDir, ...logStreamName.split('/')), 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw error;
    }
  }
}

function checkStreamName(logStreamName: string): void {
  const problem = logStreamNameProblem(logStreamName);
  if (problem !== undefined) throw new InvalidLogStreamError(String(logStreamName), problem);
}
