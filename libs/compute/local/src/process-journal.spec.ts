import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalComputeEnvironment } from './local-compute-environment.js';
import { JOURNAL_FILE, reapOrphans } from './process-journal.js';

const HOST = fileURLToPath(new URL('./testing/orphan-host.mjs', import.meta.url));

let tmp: string;
let stray: number[];

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'compute-journal-'));
  stray = [];
});

afterEach(async () => {
  // Whatever a failed test left running.
  for (const pid of stray) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await rm(tmp, { recursive: true, force: true });
});

/** Alive and not a zombie, read from /proc. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The pids whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A process that runs until killed, leading its own group, as the environment starts them. */
function sleeper(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
  stray.push(child.pid!);
  return child;
}

describe.skipIf(process.platform !== 'linux')('reapOrphans', () => {
  /** Starts a host process running one long job; resolves its pid, the worker's pid and its spawner's. */
  async function startHost(stateDir: string): Promise<{ host: ChildProcess; worker: number; spawner: number; exited: Promise<void> }> {
    const pidFile = join(tmp, 'worker.pid');
    const host = spawn(process.execPath, [HOST, stateDir, pidFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let hostStderr = '';
    host.stderr!.on('data', (chunk: Buffer) => (hostStderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => host.once('exit', () => resolve()));
    await waitFor(
      async () => {
        if (host.exitCode !== null) throw new Error(`the host exited early (${host.exitCode}): ${hostStderr}`);
        return (await readFile(pidFile, 'utf8').catch(() => '')) !== '';
      },
      'the job in the host to start',
    );
    const worker = Number(await readFile(pidFile, 'utf8'));
    stray.push(worker);
    const spawner = childrenOf(host.pid!)[0];
    if (spawner === undefined) throw new Error('the host has no spawner process');
    return { host, worker, spawner, exited };
  }

  it('a worker dies with its host: kill -9 of the host, and its spawner stops every child it started', { timeout: 120_000 }, async () => {
    const { host, worker, exited } = await startHost(join(tmp, 'state'));
    expect(isAlive(worker)).toBe(true);
    host.kill('SIGKILL');
    await exited;
    await waitFor(() => !isAlive(worker), 'the worker to die with its host');
  });

  it('kills what survived both the host and its spawner (both killed with SIGKILL), then empties the journal', { timeout: 120_000 }, async () => {
    const stateDir = join(tmp, 'state');
    const { host, worker, spawner, exited } = await startHost(stateDir);
    // Both at once, as a machine-wide OOM kill might: the spawner is frozen first so that neither
    // sees the other go (a live host ends its jobs when the spawner dies; a live spawner kills its
    // children when the host dies), then both are killed.
    process.kill(spawner, 'SIGSTOP');
    host.kill('SIGKILL');
    await exited;
    process.kill(spawner, 'SIGKILL');
    await waitFor(() => !isAlive(spawner), 'the spawner to die');
    // Its own process group: neither death took it along.
    expect(isAlive(worker)).toBe(true);

    expect(await LocalComputeEnvironment.reapOrphans(stateDir)).toBe(1);
    await waitFor(() => !isAlive(worker), 'the orphaned worker to die');
    expect(await readFile(join(stateDir, JOURNAL_FILE), 'utf8')).toBe('');
    expect(await reapOrphans(stateDir)).toBe(0);
  });

  it('never kills a process whose pid now belongs to another process (start time differs)', async () => {
    const stateDir = join(tmp, 'state');
    await mkdir(stateDir);
    const other = sleeper();
    const pid = other.pid!;
    await writeFile(join(stateDir, JOURNAL_FILE), `${JSON.stringify({ event: 'spawn', pid, pgid: pid, startTime: '1', jobId: 'old' })}\n`);

    expect(await reapOrphans(stateDir)).toBe(0);
    expect(isAlive(pid)).toBe(true);
    other.kill('SIGKILL');
  });

  it('leaves alone children the journal saw exit, and skips a torn last line', async () => {
    const stateDir = join(tmp, 'state');
    await mkdir(stateDir);
    const child = sleeper();
    const pid = child.pid!;
    const startTime = startTimeOf(pid);
    await writeFile(
      join(stateDir, JOURNAL_FILE),
      `${JSON.stringify({ event: 'spawn', pid, pgid: pid, startTime, jobId: 'j' })}\n${JSON.stringify({ event: 'exit', pid, startTime })}\n{"event":"spa`,
    );

    expect(await reapOrphans(stateDir)).toBe(0);
    expect(isAlive(pid)).toBe(true);
    child.kill('SIGKILL');
  });

  it('finds nothing to reap after a clean shutdown, or without a journal', async () => {
    const stateDir = join(tmp, 'state');
    const env = new LocalComputeEnvironment({ vcpus: 1, memoryMiB: 512, stateDir, emit: async () => {} });
    await env.submitJob({
      jobName: 'quick',
      jobQueue: 'q',
      jobDefinition: 'd',
      command: [process.execPath, '-e', ''],
      vcpus: 1,
      memoryMiB: 64,
      timeoutSeconds: 60,
      retryStrategy: { attempts: 1 },
      environment: {},
      parameters: {},
    });
    await env.idle();
    await env.shutdown();

    const journal = await readFile(join(stateDir, JOURNAL_FILE), 'utf8');
    expect(journal.trim().split('\n').map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(['spawn', 'exit']);
    expect(await reapOrphans(stateDir)).toBe(0);
    expect(await reapOrphans(join(tmp, 'never-used'))).toBe(0);
  });
});
