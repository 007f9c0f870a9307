import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { CommandFailedError, CommandNotStartedError } from './errors.js';
import type { Logger } from '@nightshift/observability';
import { forwardLines, type LogStream } from './log.js';

/**
 * How long the output of a command that has exited may stay open. A program that leaves a process
 * in the background holding its stdout would otherwise hold the job for as long as that runs; a
 * container ends with its main process, and so does a command.
 */
const OUTPUT_DRAIN_MS = 2_000;

/** How a command's process runs. */
export interface ProcessOptions {
  cwd: string;
  /** Its whole environment (the lookup of a program without a `/` uses its PATH). */
  env: Readonly<Record<string, string>>;
  /** Where its stdout and stderr lines go, as written. */
  stdout: LogStream;
  stderr: LogStream;
  /** The worker's own lines about it. */
  log: Logger;
  /** Aborted when the job is being stopped: the process gets SIGTERM. */
  stop?: AbortSignal;
}

/** How a process ended: `exitCode` is 128 + the signal's number when a signal ended it, as a container's is. */
export interface ProcessExit {
  exitCode: number;
  signal?: NodeJS.Signals;
}

/**
 * Runs `argv` (no shell) to its end and answers how it ended. CommandNotStartedError when the
 * program does not exist or is not executable; CommandFailedError (SIGTERM, logged) when `stop` was
 * aborted before it started.
 */
export async function runProcess(argv: readonly string[], options: ProcessOptions): Promise<ProcessExit> {
  const [program, ...args] = argv;
  if (program === undefined) throw new TypeError('runProcess needs a program');
  if (options.stop?.aborted) {
    const stopped = new CommandFailedError(
      128 + constants.signals.SIGTERM,
      'SIGTERM',
      'the job was stopped (SIGTERM) before the command started',
    );
    options.log.warn(stopped.message);
    throw stopped;
  }
  const child = spawn(program, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Every listener is attached before anything is awaited: 'error' and 'spawn' come on the next tick.
  const forwarded = Promise.all([
    forwardLines(child.stdout, options.stdout, options.log),
    forwardLines(child.stderr, options.stderr, options.log),
  ]);
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(signal ? { exitCode: 128 + constants.signals[signal], signal } : { exitCode: code ?? 1 });
    });
  });
  const failedToStart = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (failedToStart) throw notStarted(program, failedToStart);
  // Past the start, 'error' only reports a signal that could not be sent: worth a line, not the task.
  child.on('error', (e) => options.log.warn(`could not signal the command: ${e.message}`));
  const forward = (): void => {
    options.log.warn('the job is being stopped: sending SIGTERM to the command');
    child.kill('SIGTERM');
  };
  options.stop?.addEventListener('abort', forward, { once: true });
  try {
    const exit = await exited;
    await drain(forwarded, () => {
      options.log.warn(
        `the command's output is still open ${OUTPUT_DRAIN_MS} ms after it exited (a process left in the background?): no longer reading it`,
      );
      child.stdout.destroy();
      child.stderr.destroy();
    });
    return exit;
  } finally {
    options.stop?.removeEventListener('abort', forward);
  }
}

/** Waits for the output to be read to its end, or calls `giveUp` after OUTPUT_DRAIN_MS and waits for it to close. */
async function drain(forwarded: Promise<unknown>, giveUp: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), OUTPUT_DRAIN_MS);
  });
  try {
    if ((await Promise.race([forwarded, late])) === 'late') {
      giveUp();
      await forwarded;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** A shell's codes for a program it cannot run; other spawn failures are the host's (exit 1, retried). */
function notStarted(program: string, e: NodeJS.ErrnoException): Error {
  switch (e.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new CommandNotStartedError(
        program,
        127,
        `not found (${e.code}: not on PATH, no such file, or its #! interpreter is missing)`,
        { cause: e },
      );
    case 'EACCES':
    case 'EPERM':
    case 'ENOEXEC':
      return new CommandNotStartedError(
        program,
        126,
        `not executable (${e.code}: no execute permission, a directory, or not a program)`,
        { cause: e },
      );
    default:
      return e;
  }
}
