import type { BatchJobStatus } from '@nightshift/contracts';
import type { ParentState, UnitState } from './job-detail.js';
import type { LaunchedAttempt } from './process-launcher.js';

/** A plain job or an array child: what runs. */
export interface Unit extends UnitState {
  kind: 'unit';
  parent?: Parent;
  /** Set by terminateJob: the attempt in flight is stopped and the job FAILS with it, no retry. */
  terminateReason?: string;
  /** The attempt in flight while the unit is STARTING or RUNNING; it holds the unit's reservation. */
  attempt?: LaunchedAttempt;
}

/** An array parent: it never runs, it summarises its children. */
export interface Parent extends ParentState {
  kind: 'parent';
  children: Unit[];
  /** Children not yet SUCCEEDED or FAILED. */
  remaining: number;
  /** The reason given to cancelJob or terminateJob, reported when the parent FAILS. */
  stopReason?: string;
}

export type Job = Unit | Parent;

/** How long finished jobs stay describable. */
export interface Retention {
  /** Finished units (a plain job counts 1, an array job 1 + its size) kept at most. */
  maxUnits: number;
  /** Finished jobs are forgotten this long after they stopped. */
  maxAgeMs: number;
}

/** What `list` filters on; `queueName` or `arrayJobId` as the port requires. */
export interface JobFilter {
  queueName?: string;
  arrayJobId?: string;
  jobName?: string;
  /** A status, or `ANY` for every status; absent: RUNNING unless `jobName` is given (AWS's default). */
  status?: BatchJobStatus | 'ANY';
}

/**
 * Every job the environment knows: those not finished, and finished ones within the retention, so
 * that a reconciliation after lost events still finds them (AWS keeps jobs about 7 days; a
 * process-local registry must be bounded). Array children are found through their parent
 * (`${parentId}:${index}`) and leave with it, so a 10,000-child job costs one map entry.
 */
export class JobRegistry {
  /** Top-level jobs (plain jobs and array parents) by id, in submission order. */
  private readonly jobs = new Map<string, Job>();
  /** Finished top-level jobs, oldest first; entries before `head` are already forgotten. */
  private finished: Job[] = [];
  private head = 0;
  private retainedUnits = 0;

  constructor(
    private readonly retention: Retention,
    private readonly now: () => number,
  ) {}

  /** Registers a top-level job (its children come with it). */
  add(job: Job): void {
    this.jobs.set(job.jobId, job);
  }

  /** A job or array child by id; undefined when unknown or forgotten. */
  get(jobId: string): Job | undefined {
    this.forgetExpired();
    const job = this.jobs.get(jobId);
    if (job) return job;
    const match = /^(.+):(\d{1,5})$/.exec(jobId);
    if (!match) return undefined;
    const parent = this.jobs.get(match[1]);
    return parent?.kind === 'parent' ? parent.children[Number(match[2])] : undefined;
  }

  /** A top-level job has finished: it stays describable within the retention, oldest forgotten first. */
  retire(job: Job): void {
    this.finished.push(job);
    this.retainedUnits += weight(job);
    this.forgetExpired();
  }

  /**
   * Jobs matching `filter`, newest first: top-level jobs of a queue, or the children of an array
   * job by index. Without `status` and `jobName`, only RUNNING ones (AWS's ListJobs default).
   */
  list(filter: JobFilter): Job[] {
    this.forgetExpired();
    let candidates: Job[];
    if (filter.arrayJobId !== undefined) {
      const parent = this.jobs.get(filter.arrayJobId);
      candidates = parent?.kind === 'parent' ? [...parent.children] : [];
    } else {
      candidates = [];
      for (const job of this.jobs.values()) if (job.spec.jobQueueName === filter.queueName) candidates.push(job);
      // Submission order reversed, then by creation time: newest first even with a clock that stands still.
      candidates.reverse();
      candidates.sort((a, b) => b.createdAt - a.createdAt);
    }
    const status = filter.status === 'ANY' ? undefined : (filter.status ?? (filter.jobName === undefined ? 'RUNNING' : undefined));
    return candidates.filter((job) => (status === undefined || job.status === status) && (filter.jobName === undefined || job.spec.jobName === filter.jobName));
  }

  private forgetExpired(): void {
    const oldestKept = this.now() - this.retention.maxAgeMs;
    while (this.head < this.finished.length) {
      const oldest = this.finished[this.head];
      if (this.retainedUnits <= this.retention.maxUnits && (oldest.stoppedAt ?? 0) >= oldestKept) break;
      this.jobs.delete(oldest.jobId);
      this.retainedUnits -= weight(oldest);
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.finished.length) {
      this.finished = this.finished.slice(this.head);
      this.head = 0;
    }
  }
}

function weight(job: Job): number {
  return job.kind === 'parent' ? 1 + job.children.length : 1;
}
