import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

/** V8's CPU profile (the `.cpuprofile` format of `node --cpu-prof` and Chrome DevTools). */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where the main thread's time went, by bucket, from the samples of one profile. */
export interface ProfileSummary {
  /** Sampled time of the main thread, idle excluded, ms. */
  busy_ms: number;
  idle_ms: number;
  buckets: Array<{ bucket: string; ms: number; share: number }>;
  /** The functions with the most self time: `function (module)`. */
  top_functions: Array<{ frame: string; ms: number; share: number }>;
}

/**
 * Samples this process's main thread with V8's profiler (the inspector's Profiler domain, what
 * `node --cpu-prof` uses) while `work` runs. The sampling costs some speed, so a profiled run is
 * never one of the timed ones.
 */
export async function profile<T>(work: () => Promise<T>, samplingIntervalUs = 1000): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await session.post('Profiler.start');
    let outcome: { ok: true; result: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, result: await work() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const { profile: sampled } = await session.post('Profiler.stop');
    if (!outcome.ok) throw outcome.error;
    return { result: outcome.result, profile: sampled as unknown as CpuProfile };
  } finally {
    session.disconnect();
  }
}

/** Writes the profile for Chrome DevTools / speedscope. */
export async function saveProfile(path: string, cpuProfile: CpuProfile): Promise<void> {
  await writeFile(path, JSON.stringify(cpuProfile));
}

/**
 * Components of the control plane, matched on a frame's script URL. A sample is charged to the
 * frame nearest its leaf that matches one (so the AWS SDK frames under the job store's code count
 * as the SDK, and the bus's fs calls made for the planner count as the bus).
 */
const COMPONENTS: ReadonlyArray<[string, RegExp]> = [
  ['store: AWS SDK (DynamoDB client, HTTP to dynalite)', /\/node_modules\/(@aws-sdk|@smithy|@aws-crypto|@aws)\//],
  ['zod parsing', /\/node_modules\/zod\//],
  ['bus: events-local (files, fsync, routing)', /\/libs\/events\/local\//],
  ['store: jobs-dynamodb (records, keys)', /\/libs\/jobs\/dynamodb\//],
  ['compute: compute-local (scheduler, launcher, journal)', /\/libs\/compute\/local\//],
  ['jobs-domain (planning, state machines)', /\/libs\/jobs\/domain\//],
  ['contracts', /\/libs\/contracts\//],
  ['planner service', /\/services\/planner\//],
  ['ingestion service', /\/services\/ingestion\//],
  ['reporting service', /\/services\/reporting\//],
  ['DuckDB (ingestion validation)', /\/node_modules\/@duckdb\//],
  ['Nest + rxjs', /\/node_modules\/(@nestjs|rxjs)\//],
  ['HTTP API (fastify)', /\/node_modules\/(fastify|@fastify|find-my-way|light-my-request|avvio|pino)/],
  ['observability (OpenTelemetry)', /\/(node_modules\/@opentelemetry|libs\/observability)\//],
  ['BullMQ + ioredis (queue client)', /\/node_modules\/(bullmq|ioredis|msgpackr|@ioredis|redis-parser|denque|cluster-key-slot)\//],
  ['bench harness', /\/services\/cli\//],
];

/**
 * Buckets the profile's samples. Special V8 frames come first (GC, idle, "program": native code
 * outside JS), then any sample with `child_process` on its stack is process spawning (fork + exec
 * are synchronous in Node), then the component nearest the leaf, then Node's own fs / net code
 * that no component called (e.g. a socket's data event), else "other" by the leaf's module.
 */
export function summarizeProfile(cpuProfile: CpuProfile, top = 12): ProfileSummary {
  const byId = new Map(cpuProfile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of cpuProfile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const bucketOf = new Map<number, string>();
  const classify = (id: number): string => {
    const cached = bucketOf.get(id);
    if (cached) return cached;
    const leaf = byId.get(id)!.callFrame;
    const stack: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!.callFrame.url);
    let bucket: string | undefined;
    if (leaf.functionName === '(garbage collector)') bucket = 'GC';
    else if (leaf.functionName === '(idle)') bucket = 'idle';
    else if (leaf.functionName === '(program)') bucket = 'V8/native (program)';
    else if (stack.some((url) => /child_process/.test(url))) bucket = 'spawn (child_process: fork + exec, exit handling)';
    else {
      for (const url of stack) {
        bucket = COMPONENTS.find(([, re]) => re.test(url))?.[0];
        if (bucket) break;
      }
      bucket ??= nodeBucket(stack) ?? `other: ${moduleOf(leaf.url)}`;
    }
    bucketOf.set(id, bucket);
    return bucket;
  };

  const totals = new Map<string, number>();
  const selfTime = new Map<number, number>();
  cpuProfile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time before sample i; the next delta is the time this sample stood for.
    const ms = (cpuProfile.timeDeltas[i + 1] ?? 0) / 1000;
    totals.set(classify(id), (totals.get(classify(id)) ?? 0) + ms);
    selfTime.set(id, (selfTime.get(id) ?? 0) + ms);
  });
  const idle = totals.get('idle') ?? 0;
  totals.delete('idle');
  const busy = [...totals.values()].reduce((a, b) => a + b, 0);
  const share = (ms: number): number => (busy > 0 ? ms / busy : 0);

  const byFrame = new Map<string, number>();
  for (const [id, ms] of selfTime) {
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const frame = `${functionName || '(anonymous)'} (${moduleOf(url)})`;
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + ms);
  }
  return {
    busy_ms: busy,
    idle_ms: idle,
    buckets: [...totals].map(([bucket, ms]) => ({ bucket, ms, share: share(ms) })).sort((a, b) => b.ms - a.ms),
    top_functions: [...byFrame]
      .map(([frame, ms]) => ({ frame, ms, share: share(ms) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}

/** Node's own code that no component called: fs, sockets and HTTP, timers. */
function nodeBucket(stack: readonly string[]): string | undefined {
  for (const url of stack) {
    if (/^node:(internal\/)?fs/.test(url)) return 'Node fs (no component on the stack)';
    if (/^node:(_http|http|internal\/http|net|internal\/stream|stream|internal\/streams)/.test(url)) return 'Node sockets / HTTP (no component on the stack)';
  }
  return undefined;
}

/** A script URL as a short module name: the package, the nightshift project, or the Node built-in. */
export function moduleOf(url: string): string {
  if (url === '') return 'native';
  const pkg = /\/node_modules\/((@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const project = /\/(libs\/[^/]+(\/(domain|local|dynamodb))?|services\/[^/]+)\//.exec(url);
  if (project) return project[1]!;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}
