import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { childrenOf } from './processes.js';

/** nightshift's machine in the bench: 2 vCPUs; a no-op step asks 0.25 each, so 8 tasks run at once. */
export const PLATFORM_VCPUS = 2;
export const STEP_VCPUS = 0.25;

/** What both sides run per task, and how. */
export interface TaskShape {
  /** argv of the process each job spawns (`["true"]`). */
  command: readonly string[];
  /** Jobs in progress at once: nightshift's slots (vCPUs / the step's vCPUs). */
  concurrency: number;
  /** Total attempts per job. */
  attempts: number;
}

/** One throughput measurement: N jobs added at once, until the last one finished. */
export interface ThroughputFigure {
  jobs: number;
  seconds: number;
  tasks_per_second: number;
  /**
   * Resident memory of the process that spawns the tasks when the run started, MB: fork() copies
   * its page tables, so a spawn costs more in a larger process.
   */
  rss_mb: number;
  /** Control-plane CPU: this process (queue, worker, spawning) plus the server (redis or the store's) over the jobs, ms per job. */
  cpu_ms_per_task: number;
  /** `server_ms`: the helper processes' CPU (redis-server; nightshift's dynalite and spawner), each in `helpers_ms`. */
  cpu: { process_ms: number; server_ms: number; helpers_ms?: Record<string, number> };
  helpers?: string[];
  /** Write system calls (write, writev, pwrite: /proc/<pid>/io syscw) per task, this process and the server; absent off Linux. */
  write_syscalls_per_task?: { process: number; server: number };
  succeeded: number;
  failed: number;
}

/** One-job-at-a-time latency: from the call that submits it to the moment its process runs (Node's 'spawn' event). */
export interface LatencyFigure extends LatencySummary {
  /** From the submitting call to the worker's processor being called (BullMQ only). */
  to_processor?: LatencySummary;
  /** Control-plane CPU (this process and the server) per one-job run, ms: the whole run, submitted to finished (and reported). */
  cpu_ms_per_run: number;
  /** Medians of the parts (nightshift: the run record's createdAt splits event -> planned -> task running). */
  phases_p50_ms?: Record<string, number>;
}

/** Latencies of one figure, ms. Percentiles are nearest-rank. */
export interface LatencySummary {
  runs: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  mean_ms: number;
  max_ms: number;
}

/** Nearest-rank percentiles of `values` (ms); zeros for an empty list. */
export function percentiles(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
  return {
    runs: sorted.length,
    p50_ms: rank(50),
    p90_ms: rank(90),
    p99_ms: rank(99),
    mean_ms: sorted.length === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / sorted.length,
    max_ms: sorted.at(-1) ?? 0,
  };
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux almost everywhere). */
let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * CPU time (user + system) another process has used so far, ms, from /proc/<pid>/stat; undefined
 * when it cannot be read (not Linux, process gone). Resolution is one clock tick (10 ms).
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond()) * 1000;
  } catch {
    return undefined;
  }
}

/** A child process of the bench side: its pid and a short name for the report. */
export interface HelperProcess {
  pid: number;
  name: string;
}

/**
 * The processes `ppid` has started and still runs (Linux /proc; empty elsewhere), named from their
 * command lines: nightshift's DynamoDB-compatible server and its spawner are such children of the
 * platform's process. Their own CPU (utime + stime, not that of the programs they reaped) is
 * control plane, so the bench counts it with the process's.
 */
export function childProcesses(ppid: number): HelperProcess[] {
  return childrenOf(ppid).map((p) => ({ pid: p.pid, name: helperName(p.argv) }));
}

function helperName(argv: string[]): string {
  const line = argv.join(' ');
  if (line.includes('dynalitePath')) return 'dynalite (DynamoDB-compatible server)';
  const script = argv.slice(1).find((a) => /\.(js|mjs|cjs)$/.test(a));
  const base = (path: string | undefined): string => (path ?? '?').split('/').at(-1)!;
  return script ? base(script).replace(/\.(js|mjs|cjs)$/, '') : base(argv[0]);
}

/** CPU and write-syscall counters at one moment: this process, and its helper processes (redis-server; dynalite, the spawner). */
export interface CpuSample {
  process: NodeJS.CpuUsage;
  helpers: readonly HelperProcess[];
  helperMs: number[];
  processWrites?: number;
  serverWrites?: number;
}

export function cpuSample(helpers: readonly HelperProcess[]): CpuSample {
  const pids = helpers.map((h) => h.pid);
  return {
    process: process.cpuUsage(),
    helpers,
    helperMs: pids.map((pid) => processCpuMs(pid) ?? 0),
    ...optionalCount('processWrites', writeSyscalls([process.pid])),
    ...optionalCount('serverWrites', writeSyscalls(pids)),
  };
}

/** CPU used since `sample`, ms: this process (all its threads), the helpers together and each by name. */
export function cpuSince(sample: CpuSample): { process_ms: number; server_ms: number; helpers_ms: Record<string, number> } {
  const used = process.cpuUsage(sample.process);
  const helpers_ms: Record<string, number> = {};
  sample.helpers.forEach((h, i) => {
    helpers_ms[h.name] = (helpers_ms[h.name] ?? 0) + ((processCpuMs(h.pid) ?? sample.helperMs[i]!) - sample.helperMs[i]!);
  });
  return { process_ms: (used.user + used.system) / 1000, server_ms: Object.values(helpers_ms).reduce((a, b) => a + b, 0), helpers_ms };
}

/** Write system calls since `sample`, divided by `tasks`; undefined when /proc/<pid>/io cannot be read. */
export function writesSince(sample: CpuSample, tasks: number): { process: number; server: number } | undefined {
  const processNow = writeSyscalls([process.pid]);
  const serverNow = writeSyscalls(sample.helpers.map((h) => h.pid));
  if (processNow === undefined || sample.processWrites === undefined) return undefined;
  return { process: (processNow - sample.processWrites) / tasks, server: serverNow === undefined || sample.serverWrites === undefined ? 0 : (serverNow - sample.serverWrites) / tasks };
}

function optionalCount<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

/** The `syscw` counter of /proc/<pid>/io summed over `pids` (every thread of each); undefined if any cannot be read. */
function writeSyscalls(pids: readonly number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /^syscw:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
      if (!m) return undefined;
      total += Number(m[1]);
    } catch {
      return undefined;
    }
  }
  return total;
}

