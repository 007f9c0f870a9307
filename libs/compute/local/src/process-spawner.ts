import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SpawnerInit, SpawnerReply, SpawnRequest } from './spawner-protocol.js';

/**
 * The compiled spawner program. Resolved against the package root, not this file: from `src/`
 * (tests) and from `dist/` alike, `../dist/` is the build output.
 */
const SPAWNER_ENTRYPOINT = fileURLToPath(new URL('../dist/spawner-process.js', import.meta.url));

/** What happens to one spawned program. Exactly one of `failed`, or `spawned` then `exited`. */
export interface SpawnHandlers {
  spawned(pid: number): void;
  failed(reason: string): void;
  exited(code: number | null, signal: NodeJS.Signals | null): void;
}

/**
 * Starts programs through a small process of its own (`spawner-process.ts`) instead of forking the
 * host: fork copies the forking process's page tables, so in a host of a few hundred MiB each
 * spawn costs milliseconds of its event loop; the spawner pays a fraction of that, on the other
 * core. It is started on first use and closed with the environment. If the host dies, the
 * spawner sees its IPC channel close and kills every child still running, so no worker outlives
 * its host. If the spawner itself dies, every program it had not reported ended is ended as lost.
 */
export class ProcessSpawner {
  private child?: ChildProcess;
  private nextId = 1;
  private readonly handlers = new Map<number, SpawnHandlers>();
  private closed = false;

  /** @param baseEnv every child's environment, under what its request adds (sent to the spawner once). */
  constructor(private readonly baseEnv: Readonly<Record<string, string>>) {}

  spawn(request: Omit<SpawnRequest, 'op' | 'id'>, handlers: SpawnHandlers): void {
    if (this.closed) {
      handlers.failed('the compute environment has shut down');
      return;
    }
    const id = this.nextId++;
    this.handlers.set(id, handlers);
    const message: SpawnRequest = { op: 'spawn', id, ...request };
    this.process().send(message, (error) => {
      if (error) this.settle(id, (h) => h.failed(`the process launcher did not take the request: ${error.message}`));
    });
  }

  /** Stops the spawner once nothing it started still runs (anything left is killed by it). */
  close(): void {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    if (child?.connected) child.disconnect();
  }

  private process(): ChildProcess {
    if (this.child) return this.child;
    const child = fork(SPAWNER_ENTRYPOINT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [], serialization: 'json' });
    child.on('message', (reply: SpawnerReply) => this.onReply(reply));
    child.send({ op: 'init', env: this.baseEnv } satisfies SpawnerInit);
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const why = `the process launcher exited (${signal ?? `code ${code}`})`;
      for (const id of [...this.handlers.keys()]) this.settle(id, (h) => h.failed(why));
    });
    // The spawner never keeps the host alive: running attempts do (their timers), the spawner follows.
    child.unref();
    child.channel?.unref();
    this.child = child;
    return child;
  }

  private onReply(reply: SpawnerReply): void {
    switch (reply.op) {
      case 'spawned':
        this.handlers.get(reply.id)?.spawned(reply.pid);
        return;
      case 'failed':
        this.settle(reply.id, (h) => h.failed(reply.reason));
        return;
      case 'exit':
        this.settle(reply.id, (h) => h.exited(reply.code, reply.signal));
        return;
    }
  }

  private settle(id: number, call: (handlers: SpawnHandlers) => void): void {
    const handlers = this.handlers.get(id);
    if (!handlers) return;
    this.handlers.delete(id);
    call(handlers);
  }
}
