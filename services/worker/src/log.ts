import type { Readable } from 'node:stream';

/** Where job log lines go: the worker's stdout or stderr (the job's log stream), or a test's collector. */
export interface LogStream {
  write(chunk: string): unknown;
}

/**
 * A command's line with no newline is cut here: a progress bar that redraws with `\r` must not grow
 * one line without bound, and CloudWatch Logs refuses events over 256 KiB anyway.
 */
const MAX_LINE_CHARS = 64 * 1024;

/** Writes `text` as log lines stamped with the time as CloudWatch Logs would stamp them: `<ISO-8601> <line>`. */
export function logLine(stream: LogStream, text: string): void {
  const at = new Date().toISOString();
  stream.write(
    text
      .split('\n')
      .map((line) => `${at} ${line}`)
      .join('\n') + '\n',
  );
}

/**
 * Copies a child's output to `stream` a line at a time, each line stamped as the worker's own are
 * (a last line without a newline too). Resolves once the output is closed: at its end, or when the
 * caller destroys it.
 */
export function forwardLines(input: Readable, stream: LogStream): Promise<void> {
  return new Promise((resolve) => {
    let partial = '';
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) logLine(stream, line.endsWith('\r') ? line.slice(0, -1) : line);
      while (partial.length > MAX_LINE_CHARS) {
        logLine(stream, partial.slice(0, MAX_LINE_CHARS));
        partial = partial.slice(MAX_LINE_CHARS);
      }
    });
    // A failed read loses the rest of the output, not the task: the exit code still decides.
    input.once('error', (e) => logLine(stream, `(the rest of this output is lost: ${e.message})`));
    // 'close' follows 'end', and also comes alone when the stream is destroyed or fails.
    input.once('close', () => {
      if (partial !== '') logLine(stream, partial);
      resolve();
    });
  });
}
