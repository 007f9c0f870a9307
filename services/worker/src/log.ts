import type { Readable } from 'node:stream';
import { InputDataError } from '@nightshift/analytics';
import { createLogger, type Logger, type LogLevel } from '@nightshift/observability';
import { CommandFailedError, WorkerError } from './errors.js';

/** Where job log lines go: the worker's stdout or stderr (the job's log stream), or a test's collector. */
export interface LogStream {
  write(chunk: string): unknown;
}

/**
 * A command's line with no newline is cut here: a progress bar that redraws with `\r` must not grow
 * one line without bound, and CloudWatch Logs refuses events over 256 KiB anyway.
 */
const MAX_LINE_CHARS = 64 * 1024;

/**
 * The worker's own log lines: JSON (service `nightshift-worker`, with the run of the span they are
 * written in), info and below to `stdout`, warnings and errors to `stderr`; both are the job's log
 * stream, where the compute environment (or CloudWatch Logs' agent) stamps each line's time.
 */
export function workerLogger(stdout: LogStream, stderr: LogStream, level: LogLevel = 'info'): Logger {
  return createLogger({ service: 'nightshift-worker', level, destination: [{ to: stdout }, { to: stderr, level: 'warn' }] });
}

/**
 * Copies a child's output to `stream` a line at a time, as written (a last line without a newline
 * too, and `\r\n` as a line end); the job's log stamps each line with the time it is read. Resolves
 * once the output is closed: at its end, or when the caller destroys it.
 */
export function forwardLines(input: Readable, stream: LogStream, log: Logger): Promise<void> {
  return new Promise((resolve) => {
    let partial = '';
    const write = (line: string) => stream.write(`${line}\n`);
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) write(line.endsWith('\r') ? line.slice(0, -1) : line);
      while (partial.length > MAX_LINE_CHARS) {
        write(partial.slice(0, MAX_LINE_CHARS));
        partial = partial.slice(MAX_LINE_CHARS);
      }
    });
    // A failed read loses the rest of the output, not the task: the exit code still decides.
    input.once('error', (e) => log.warn(`the rest of the command's output is lost: ${e.message}`));
    // 'close' follows 'end', and also comes alone when the stream is destroyed or fails.
    input.once('close', () => {
      if (partial !== '') write(partial);
      resolve();
    });
  });
}

/**
 * The worker's exit code for an error: 2 bad input or usage (retrying will not help), a command's
 * own code, 1 anything else (worth retrying).
 */
export function exitCodeOf(error: unknown): number {
  return error instanceof WorkerError ? error.exitCode : error instanceof InputDataError ? 2 : 1;
}

const logged = new WeakSet<object>();

/**
 * Logs why the task failed, once: the first call writes it (inside the task's span, so the line
 * has its run and task), later ones with the same error do nothing. A command that failed has
 * said so already ("command exited with code n"). The stack only for what is not bad input.
 */
export function logFailure(log: Logger, error: unknown): void {
  if (error instanceof CommandFailedError) return;
  if (typeof error === 'object' && error !== null) {
    if (logged.has(error)) return;
    logged.add(error);
  }
  const exitCode = exitCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  log.error({ exit_code: exitCode, ...(exitCode === 2 ? {} : { err: error }) }, `${exitCode === 2 ? 'bad input' : 'failed'}: ${message}`);
}

/** Runs `fn`; when it fails, logs why ({@link logFailure}) where it runs (in the task's span), then rethrows. */
export async function loggingFailures<T>(log: Logger, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    logFailure(log, e);
    throw e;
  }
}
