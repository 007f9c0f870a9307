import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalEventBus } from './local-event-bus.js';
import { tempDir } from './testing/fixtures.js';

const CHILD = fileURLToPath(new URL('./testing/crash-child.mjs', import.meta.url));
const CRASH_ON_DELIVERY_CHILD = fileURLToPath(new URL('./testing/crash-on-delivery-child.mjs', import.meta.url));
const SRC_DIR = fileURLToPath(new URL('.', import.meta.url));
const BUILD_INFO = fileURLToPath(new URL('../dist/tsconfig.lib.tsbuildinfo', import.meta.url));
const TICK = [{ name: 'ticks', description: 'every tick', eventPattern: { 'detail-type': ['Tick'] } }];

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  // The child runs the compiled package; the test global setup builds it (`tsc -b`).
  const built = existsSync(BUILD_INFO) ? statSync(BUILD_INFO).mtimeMs : 0;
  const sources = (await readdir(SRC_DIR)).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
  const stale = sources.filter((f) => statSync(join(SRC_DIR, f)).mtimeMs > built);
  if (stale.length > 0) {
    throw new Error(`dist/ is older than ${stale.join(', ')}: run \`npm run build\` (the vitest global setup does)`);
  }
});

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});

afterEach(async () => {
  await cleanup();
});

interface Claims {
  put: Set<string>;
  acked: Set<string>;
  /** Killed between an ack and the line reporting it: that message may be gone or not. */
  maybeAcked: Set<string>;
  /** Highest receive count the child reported per event id (ingestion queue). */
  received: Map<string, number>;
}

/** Runs the child until it has done some work, kills it with SIGKILL after `killAfterMs`, and returns what it reported. */
async function runAndKill(killAfterMs: number, claims: Claims): Promise<void> {
  const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  // 'close', not 'exit': the lines still in the pipe when the child died must be read too.
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => (out.includes('ready\n') ? resolve() : undefined);
    child.stdout.on('data', check);
    void exited.then(() => reject(new Error(`child exited before it was ready: ${out}`)));
  });
  await ready;
  await new Promise((r) => setTimeout(r, killAfterMs));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  // Only complete lines count: a line cut by the kill proves nothing.
  const lines = out.split('\n').slice(0, -1);
  for (const line of lines) {
    const [kind, ...rest] = line.split(' ').filter(Boolean);
    if (kind === 'put') rest.forEach((id) => claims.put.add(id));
    if (kind === 'acked') claims.acked.add(rest[0]);
    if (kind === 'received') {
      for (const item of rest) {
        const [id, count] = item.split(':');
        claims.received.set(id, Math.max(claims.received.get(id) ?? 0, Number(count)));
      }
    }
  }
  const [lastKind, firstReceived] = (lines.at(-1) ?? '').split(' ');
  if (lastKind === 'received' && firstReceived) claims.maybeAcked.add(firstReceived.split(':')[0]);
}

/** Receives everything visible in a queue, without acking. */
async function drain(bus: LocalEventBus, queue: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (;;) {
    const batch = await bus.receive(queue, 1_000);
    if (batch.length === 0) return seen;
    for (const m of batch) seen.set(m.event.id, m.receiveCount);
  }
}

describe('LocalEventBus under kill -9', () => {
  it('loses nothing that was acknowledged as published, and keeps acks and receive counts', async () => {
    const claims: Claims = { put: new Set(), acked: new Set(), maybeAcked: new Set(), received: new Map() };
    // Three lives of the process on the same directory, each killed at a different moment.
    for (const killAfterMs of [150, 420, 270]) await runAndKill(killAfterMs, claims);
    expect(claims.put.size).toBeGreaterThan(20);
    expect(claims.acked.size).toBeGreaterThan(3);

    // Let the last life's in-flight deliveries (200 ms visibility in the child) become visible.
    await new Promise((r) => setTimeout(r, 250));
    const bus = await LocalEventBus.open({ dir, rules: { ingestion: TICK, planner: TICK }, visibilityTimeoutMs: 60_000, maxReceiveCount: 1000 });
    try {
      expect(await readdir(join(dir, 'tmp'))).toEqual([]);
      const ingestion = await drain(bus, 'ingestion');
      const planner = await drain(bus, 'planner');

      // Every published event is in every queue it was routed to, unless that queue acked it.
      for (const id of claims.put) {
        expect(planner.has(id), `planner lost ${id}`).toBe(true);
        if (!claims.acked.has(id) && !claims.maybeAcked.has(id)) expect(ingestion.has(id), `ingestion lost ${id}`).toBe(true);
      }
      // An acknowledged ack is final.
      for (const id of claims.acked) expect(ingestion.has(id), `acked ${id} came back`).toBe(false);
      // A delivery the child saw was counted on disk before it was handed out.
      for (const [id, count] of claims.received) {
        if (ingestion.has(id)) expect(ingestion.get(id)!, `receive count of ${id}`).toBeGreaterThan(count);
      }
    } finally {
      await bus.close();
    }
  });
});

/** Runs a child to its end (exit or kill) and returns its complete output lines and how it ended. */
async function runChild(script: string, ...args: string[]): Promise<{ lines: string[]; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, [script, dir, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, sig) => resolve(sig)));
  return { lines: out.split('\n').slice(0, -1), signal };
}

describe('LocalEventBus when every delivery kills the process', () => {
  it('counts each delivery before handing it out, and dead-letters the message after maxReceiveCount deliveries', async () => {
    const bus = await LocalEventBus.open({ dir, rules: { planner: TICK } });
    const { Entries } = await bus.putEvents([{ Source: 'crash.test', DetailType: 'Tick', Detail: '{}' }]);
    await bus.close();
    const id = 'EventId' in Entries[0] ? Entries[0].EventId : 'missing';

    const lives = [];
    for (let life = 0; life < 4; life++) lives.push(await runChild(CRASH_ON_DELIVERY_CHILD, '3'));
    expect(lives.map((l) => l.lines)).toEqual([[`received ${id}:1`], [`received ${id}:2`], [`received ${id}:3`], [`dead ${id}:3`]]);
    expect(lives.map((l) => l.signal)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL', null]);
  });
});
