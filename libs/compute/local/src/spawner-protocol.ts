/** Messages between the process launcher and its spawner process (Node IPC, JSON). */

/** Sent first: the environment every child starts from (each request's `env` is added to it). */
export interface SpawnerInit {
  op: 'init';
  env: Record<string, string>;
}

/** Start a program: its own process group, output appended to `logPath` a stamped line at a time (or to the spawner's own stdout/stderr). */
export interface SpawnRequest {
  op: 'spawn';
  id: number;
  program: string;
  args: string[];
  cwd?: string;
  /** Added to the base environment of `SpawnerInit`. */
  env: Record<string, string>;
  logPath?: string;
}

export type SpawnerReply =
  /** The program runs (Node's 'spawn' event). */
  | { op: 'spawned'; id: number; pid: number }
  /** It could not be started (no such program, no log file): no process exists. */
  | { op: 'failed'; id: number; reason: string }
  /** It ended; `code` null when killed by `signal`. */
  | { op: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null };
