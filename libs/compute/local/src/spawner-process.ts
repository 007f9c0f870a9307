/*
 * The process launcher's own small process (see process-spawner.ts): it forks and execs the
 * attempts' programs, so that the cost of fork (which grows with the forking process's memory)
 * is paid by a process of a few tens of MiB instead of the host, and off the host's event loop.
 * It also ties the children's lives to the host's: when the host goes away (its IPC channel
 * closes, even on kill -9), every child still running is killed with its process group.
 *
 * With a log stream, it is also the attempt's log driver, as Docker's awslogs driver is a
 * container's: it reads the child's stdout and stderr and appends each line to the stream's file
 * as an event, `<ISO-8601 time it was read> <line>` (see get-log-events.ts), so every line has its
 * time whatever wrote it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { dirname } from 'node:path';
import type { SpawnerInit, SpawnerReply, SpawnRequest } from './spawner-protocol.js';

const running = new Map<number, ChildProcess>();
let baseEnv: Record<string, string> = {};
/**
 * A line longer than this is cut into events of this size: a progress bar redrawn with `\r` must
 * not grow one event without bound, and CloudWatch Logs refuses events over 256 KiB.
 */
const MAX_LINE_CHARS = 64 * 1024;
/** How long a child's output may stay open once its process group has been killed at its exit. */
const OUTPUT_CLOSE_MS = 1_000;

function reply(message: SpawnerReply): void {
  process.send?.(message);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function start(request: SpawnRequest): void {
  const { id } = request;
  let fd: number | undefined;
  if (request.logPath !== undefined) {
    try {
      // A directory per job (see attemptLogStreamName): made each time, which costs little beside a spawn.
      mkdirSync(dirname(request.logPath), { recursive: true });
      fd = openSync(request.logPath, 'a');
    } catch (error) {
      reply({ op: 'failed', id, reason: `cannot open log stream: ${describe(error)}` });
      return;
    }
  }
  let child: ChildProcess;
  try {
    child = spawn(request.program, request.args, {
      cwd: request.cwd,
      env: { ...baseEnv, ...request.env },
      stdio: fd === undefined ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that stopping the attempt stops everything it started, as
      // stopping a container does.
      detached: true,
    });
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    reply({ op: 'failed', id, reason: describe(error) });
    return;
  }
  const log = fd === undefined ? undefined : new LogStreamWriter(fd);
  if (log) {
    log.read(child.stdout!);
    log.read(child.stderr!);
  }
  let spawned = false;
  child.once('spawn', () => {
    spawned = true;
    running.set(id, child);
    reply({ op: 'spawned', id, pid: child.pid! });
  });
  child.once('error', (error) => {
    // After a successful spawn, 'error' only reports a failed kill; 'exit' still follows.
    if (!spawned) {
      log?.close();
      reply({ op: 'failed', id, reason: describe(error) });
    }
  });
  child.once('exit', (code, signal) => {
    running.delete(id);
    if (!spawned) return;
    if (!log) return reply({ op: 'exit', id, code, signal });
    // The exit is reported once the output is in the stream, so whoever reads the log after the
    // job ended reads all of it. The container is torn down with its main process (the launcher
    // does so too): nothing left in its group may hold the output open, and a process that left
    // the group and kept it is cut off after OUTPUT_CLOSE_MS.
    killGroup(child.pid!);
    const cutOff = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, OUTPUT_CLOSE_MS);
    child.once('close', () => {
      clearTimeout(cutOff);
      log.close();
      reply({ op: 'exit', id, code, signal });
    });
  });
}

/** One attempt's log stream: each line of its output, stamped with the time it was read. */
class LogStreamWriter {
  private lost = false;

  constructor(private readonly fd: number) {}

  /** Appends `output`'s lines (a last line without a newline too, once it ends). */
  read(output: Readable): void {
    let partial = '';
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      while (partial.length > MAX_LINE_CHARS) {
        lines.push(partial.slice(0, MAX_LINE_CHARS));
        partial = partial.slice(MAX_LINE_CHARS);
      }
      this.write(lines);
    });
    // A read that fails loses the rest of this output, not the attempt: its exit code still decides.
    output.on('error', () => undefined);
    output.once('close', () => {
      if (partial !== '') this.write([partial]);
      partial = '';
    });
  }

  close(): void {
    closeSync(this.fd);
  }

  private write(lines: readonly string[]): void {
    if (lines.length === 0 || this.lost) return;
    const at = new Date().toISOString();
    const text = lines.map((line) => `${at} ${line.endsWith('\r') ? line.slice(0, -1) : line}\n`).join('');
    try {
      writeSync(this.fd, text);
    } catch {
      // A full disk loses the rest of the log, not the attempt (nor this process).
      this.lost = true;
    }
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing of the group is left.
  }
}

process.on('message', (message: SpawnRequest | SpawnerInit) => {
  if (message.op === 'init') baseEnv = message.env;
  else if (message.op === 'spawn') start(message);
});

// The host is gone (or closed the launcher): nothing may outlive it.
process.on('disconnect', () => {
  for (const child of running.values()) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // ESRCH: already gone.
    }
  }
  process.exit(0);
});
