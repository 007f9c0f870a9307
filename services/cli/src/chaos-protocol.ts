import type { DatasetLandedDetail } from '@nightshift/contracts';

/** What `nightshift chaos` and the host it forks (chaos-host.ts) say to each other over IPC. */

/** One run of the chaos pipeline as its host reads it from the store. */
export interface RunProgress {
  runId: string;
  status: string;
  tasksTotal: number;
  /** Task records SUCCEEDED / FAILED. */
  succeeded: number;
  failed: number;
  /** Effects of the run's last transition not carried out yet (events to publish, jobs to stop). */
  outboxPending: number;
  reportId?: string | undefined;
}

/** Terminal events of one type for one run, as the queue that keeps them holds them. */
export interface TerminalCount {
  runId: string;
  detailType: string;
  /** Distinct event ids. */
  events: number;
  /** Messages (a redelivered copy of one event counts once in `events`, once more here). */
  deliveries: number;
}

/** What the home holds once the run has ended. */
export interface ChaosFacts {
  runs: RunProgress[];
  tasks: { total: number; succeeded: number; notSucceeded: string[]; withSeveralSuccesses: string[]; attempts: number };
  outputs: { entries: number; distinctTasks: number };
  /** The run's step counts: each task counted exactly once, folded 25 at a time. */
  steps: { succeeded: number; failed: number };
  terminal: TerminalCount[];
  /** The report document without what differs between any two runs of the same data (ids, time). */
  report?: Record<string, unknown> | undefined;
}

export type ChaosHostMessage =
  | { type: 'ready'; eventsUrl: string; credentials: { accessKeyId: string; secretAccessKey: string }; landing: DatasetLandedDetail }
  | { type: 'progress'; runs: RunProgress[] }
  | { type: 'facts'; facts: ChaosFacts }
  | { type: 'error'; message: string };

export type ChaosParentMessage = { type: 'facts' };
