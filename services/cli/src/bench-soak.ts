import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { signSigV4 } from '@nightshift/aws-wire';
import type { RuleDefinition } from '@nightshift/contracts';
import { NightshiftSide } from './bench-nightshift.js';
import { TASK_SHAPE } from './bench-control-plane.js';
import { BenchCheckFailedError } from './errors.js';

/**
 * `nightshift bench --soak`: is the host's memory flat under sustained load? The embedded platform
 * in this process takes rounds of mixed traffic through every ingress it serves (runs requested
 * over REST and followed to their reports, authenticated and refused REST reads, accepted and
 * refused PutEvents); after each round the heap is measured after a full GC. Then a backlog: events
 * queued for a queue nobody reads, to show what a waiting message costs the host's heap against
 * the size of its event (the bus keeps an index entry in memory, the event on disk).
 */

export interface SoakOptions {
  rounds: number;
  /** One-task runs per round (each followed to its report). */
  runsPerRound: number;
  /** REST and PutEvents requests per round, beside the runs. */
  requestsPerRound: number;
  /** Events queued for the backlog measurement. */
  backlog: number;
  tmpDir?: string;
  log?: (line: string) => void;
}

export const DEFAULT_SOAK_OPTIONS: SoakOptions = { rounds: 12, runsPerRound: 20, requestsPerRound: 1000, backlog: 20_000 };

export interface SoakRound {
  round: number;
  heap_mb: number;
  rss_mb: number;
  seconds: number;
}

export interface SoakResult {
  options: Omit<SoakOptions, 'log' | 'tmpDir'>;
  rounds: SoakRound[];
  /** Heap after the last round over the heap after the warm-up rounds (the first two): 1.0 is flat. */
  heap_ratio_last_to_warm: number;
  /** Least-squares slope of the heap over the rounds after warm-up, MB per round. */
  heap_slope_mb_per_round: number;
  /** The requests every round sent, by kind and answer. */
  per_round: Record<string, number>;
  backlog: { messages: number; event_bytes: number; heap_bytes_per_message: number; heap_to_event_ratio: number };
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

/** The heap may grow by at most this much from the warm rounds to the last (caches reaching their size, JIT). */
const FLAT_RATIO = 1.1;
const BACKLOG_QUEUE = 'soak-backlog';
const BACKLOG_SOURCE = 'com.example.soak-backlog';
const BACKLOG_RULES: readonly RuleDefinition[] = [{ name: BACKLOG_QUEUE, description: 'The soak bench backlog: nobody reads it.', eventPattern: { source: [BACKLOG_SOURCE] } }];
/** A backlog event's detail: about 4 KiB, a large upstream event. */
const BACKLOG_DETAIL = JSON.stringify({ payload: 'x'.repeat(4000) });

export async function runSoakBench(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => undefined);
  const gc = exposeGc();
  const parent = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'nightshift-soak-'));
  const side = await NightshiftSide.start(parent, [1], TASK_SHAPE, { [BACKLOG_QUEUE]: BACKLOG_RULES });
  try {
    // One landing registers the one-task pipeline's dataset, so that POST /runs can start runs of it.
    await side.latency('landed', 1, 0, 60_000);
    const rounds: SoakRound[] = [];
    let perRound: Record<string, number> = {};
    for (let round = 1; round <= options.rounds; round++) {
      const started = performance.now();
      perRound = await soakRound(side, options);
      const memory = measure(gc);
      rounds.push({ round, ...memory, seconds: (performance.now() - started) / 1000 });
      log(`round ${round}: heap ${memory.heap_mb.toFixed(1)} MB, rss ${memory.rss_mb.toFixed(1)} MB`);
    }
    const backlog = await measureBacklog(side, options.backlog, gc);
    log(`backlog of ${options.backlog}: ${backlog.heap_bytes_per_message.toFixed(0)} heap bytes per message of ${backlog.event_bytes} event bytes`);
    return summarizeSoak(options, rounds, perRound, backlog);
  } finally {
    await side.stop();
    await rm(parent, { recursive: true, force: true });
  }
}

/** One round: the runs, and the other requests in batches of 25 at once. Answers what was sent, by kind and status. */
async function soakRound(side: NightshiftSide, options: SoakOptions): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const count = (kind: string): void => {
    counts[kind] = (counts[kind] ?? 0) + 1;
  };
  const platform = side.platform;
  const runs = Array.from({ length: options.runsPerRound }, () => side.oneTaskRun(120_000).then(() => count('run requested and reported')));
  const kinds: Array<() => Promise<void>> = [
    async () => count(`GET /runs ${(await rest(platform.apiUrl, '/runs?limit=10', platform.apiKey)).status}`),
    async () => count(`GET /reports ${(await rest(platform.apiUrl, '/reports?limit=10', platform.apiKey)).status}`),
    async () => count(`GET /runs without a token ${(await rest(platform.apiUrl, '/runs', undefined)).status}`),
    async () => count(`GET /runs with a bad token ${(await rest(platform.apiUrl, '/runs', 'not-a-key')).status}`),
    async () => count(`PutEvents accepted ${await putEvent(side, { Source: 'com.example.soak', DetailType: 'Soak Noise', Detail: '{"n":1}' })}`),
    async () => count(`PutEvents year 10000 ${await putEvent(side, { Source: 'com.example.soak', DetailType: 'Soak Noise', Detail: '{}', Time: 253402300800 })}`),
    async () => count(`PutEvents nightshift.* source ${await putEvent(side, { Source: 'nightshift.planner', DetailType: 'Run Succeeded', Detail: '{}' })}`),
  ];
  for (let i = 0; i < options.requestsPerRound; i += 25) {
    await Promise.all(Array.from({ length: Math.min(25, options.requestsPerRound - i) }, (_, j) => kinds[(i + j) % kinds.length]!()));
  }
  await Promise.all(runs);
  return counts;
}

async function rest(apiUrl: string, path: string, token: string | undefined): Promise<Response> {
  const res = await fetch(`${apiUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  await res.arrayBuffer();
  return res;
}

/** One PutEvents entry, signed with the upstream key: answers `ok` or the entry's error code. */
async function putEvent(side: NightshiftSide, entry: Record<string, unknown>): Promise<string> {
  const { eventsUrl, credentials } = side.platform;
  const body = JSON.stringify({ Entries: [entry] });
  const { host: _host, ...headers } = signSigV4(
    { method: 'POST', url: `${eventsUrl}/`, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' }, body, region: 'us-east-1', service: 'events' },
    credentials.upstream,
  );
  const res = await fetch(eventsUrl, { method: 'POST', headers, body });
  const answer = (await res.json()) as { Entries?: Array<{ EventId?: string; ErrorCode?: string }> };
  if (res.status !== 200) return `HTTP ${res.status}`;
  return answer.Entries?.[0]?.EventId ? 'ok' : (answer.Entries?.[0]?.ErrorCode ?? 'no entry');
}

/** What `backlog` waiting messages cost the heap: measured after a full GC before and after queueing them (then purged). */
async function measureBacklog(side: NightshiftSide, backlog: number, gc: () => void): Promise<SoakResult['backlog']> {
  const bus = side.platform.bus;
  const before = measure(gc).heap_mb;
  for (let i = 0; i < backlog; i += 10) {
    await bus.putEvents(Array.from({ length: Math.min(10, backlog - i) }, () => ({ Source: BACKLOG_SOURCE, DetailType: 'Backlog', Detail: BACKLOG_DETAIL })));
  }
  const after = measure(gc).heap_mb;
  const held = bus.stats(BACKLOG_QUEUE).visible;
  if (held !== backlog) throw new BenchCheckFailedError(`soak: the backlog queue holds ${held} messages, ${backlog} were sent`);
  await bus.purge(BACKLOG_QUEUE);
  const perMessage = ((after - before) * 2 ** 20) / backlog;
  const eventBytes = Buffer.byteLength(BACKLOG_DETAIL);
  return { messages: backlog, event_bytes: eventBytes, heap_bytes_per_message: perMessage, heap_to_event_ratio: perMessage / eventBytes };
}

export function summarizeSoak(options: SoakOptions, rounds: SoakRound[], perRound: Record<string, number>, backlog: SoakResult['backlog']): SoakResult {
  const warm = rounds.slice(2);
  const base = warm[0] ?? rounds.at(-1)!;
  const last = rounds.at(-1)!;
  const ratio = last.heap_mb / base.heap_mb;
  const slope = leastSquaresSlope(warm.map((r) => [r.round, r.heap_mb]));
  const { log: _log, tmpDir: _tmp, ...shown } = options;
  return {
    options: shown,
    rounds,
    heap_ratio_last_to_warm: ratio,
    heap_slope_mb_per_round: slope,
    per_round: perRound,
    backlog,
    checks: [
      { name: 'heap flat under sustained load', ok: ratio <= FLAT_RATIO, detail: `heap after round ${last.round} is ${ratio.toFixed(3)}x that after round ${base.round} (limit ${FLAT_RATIO}x), slope ${slope.toFixed(2)} MB/round` },
      {
        name: 'waiting events are not held in memory',
        ok: backlog.heap_to_event_ratio < 0.5,
        detail: `${backlog.heap_bytes_per_message.toFixed(0)} heap bytes per waiting message of ${backlog.event_bytes} event bytes (${backlog.heap_to_event_ratio.toFixed(2)}x)`,
      },
      { name: 'every round completed its runs', ok: perRound['run requested and reported'] === options.runsPerRound, detail: `${perRound['run requested and reported'] ?? 0}/${options.runsPerRound} runs reported in the last round` },
    ],
  };
}

function leastSquaresSlope(points: Array<[number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return num / den;
}

function measure(gc: () => void): { heap_mb: number; rss_mb: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap_mb: m.heapUsed / 2 ** 20, rss_mb: m.rss / 2 ** 20 };
}

/** V8's full GC, without starting node with --expose-gc. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export function formatSoakMarkdown(result: SoakResult): string {
  const lines = [
    `Soak: ${result.options.rounds} rounds, each ${result.options.runsPerRound} one-task runs (requested over REST, followed to their reports) and ${result.options.requestsPerRound} other requests:`,
    '',
    '| kind of request (per round) | count |',
    '| --- | --- |',
    ...Object.entries(result.per_round)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '| round | heap after GC (MB) | RSS (MB) | seconds |',
    '| --- | --- | --- | --- |',
    ...result.rounds.map((r) => `| ${r.round} | ${r.heap_mb.toFixed(1)} | ${r.rss_mb.toFixed(1)} | ${r.seconds.toFixed(1)} |`),
    '',
    `Heap after the last round / after round 3: **${result.heap_ratio_last_to_warm.toFixed(3)}x** (slope ${result.heap_slope_mb_per_round.toFixed(2)} MB/round over rounds 3-${result.rounds.length}).`,
    '',
    `Backlog: ${result.backlog.messages} events of ${result.backlog.event_bytes} bytes waiting in a queue nobody reads cost the heap ${result.backlog.heap_bytes_per_message.toFixed(0)} bytes each (**${result.backlog.heap_to_event_ratio.toFixed(2)}x** the event).`,
    '',
    ...result.checks.map((c) => `- ${c.ok ? 'met' : 'NOT met'}: ${c.name}: ${c.detail}`),
  ];
  return `${lines.join('\n')}\n`;
}

export function assertSoakChecks(result: SoakResult): void {
  const failed = result.checks.filter((c) => !c.ok);
  if (failed.length > 0) throw new BenchCheckFailedError(`soak: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
}
