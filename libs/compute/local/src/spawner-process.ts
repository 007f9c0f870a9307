/*
 * The process launcher's own small process (see process-spawner.ts): it forks and execs the
 * attempts' programs, so that the cost of fork (which grows with the forking process's memory)
 * is paid by a process of a few tens of MiB instead of the host, and off the host's event loop.
 * It also ties the children's lives to the host's: when the host goes away (its IPC channel
 * closes, even on kill -9), every child still running is killed with its process group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SpawnerInit, SpawnerReply, SpawnRequest } from './spawner-protocol.js';

const running = new Map<number, ChildProcess>();
let baseEnv: Record<string, string> = {};
const madeDirs = new Set<string>();

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
      const dir = dirname(request.logPath);
      if (!madeDirs.has(dir)) {
        mkdirSync(dir, { recursive: true });
        madeDirs.add(dir);
      }
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
      stdio: fd === undefined ? ['ignore', 'inherit', 'inherit'] : ['ignore', fd, fd],
      // Its own process group, so that stopping the attempt stops everything it started, as
      // stopping a container does.
      detached: true,
    });
  } catch (error) {
    reply({ op: 'failed', id, reason: describe(error) });
    return;
  } finally {
    // The child holds its own copy of the descriptor once spawn has returned.
    if (fd !== undefined) closeSync(fd);
  }
  let spawned = false;
  child.once('spawn', () => {
    spawned = true;
    running.set(id, child);
    reply({ op: 'spawned', id, pid: child.pid! });
  });
  child.once('error', (error) => {
    // After a successful spawn, 'error' only reports a failed kill; 'exit' still follows.
    if (!spawned) reply({ op: 'failed', id, reason: describe(error) });
  });
  child.once('exit', (code, signal) => {
    running.delete(id);
    if (spawned) reply({ op: 'exit', id, code, signal });
  });
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
