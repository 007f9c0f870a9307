import { ComputeSubmissionError } from '@nightshift/jobs-domain';
import type { Job, Parent, Unit } from './job-registry.js';
import type { JobSpec } from './job-spec.js';

/**
 * AWS Batch's job dependencies (https://docs.aws.amazon.com/batch/latest/userguide/job_dependencies.html):
 * which jobs each unit of a new job waits for, and the waiting itself. A unit waits PENDING until
 * every job it waits for has SUCCEEDED; one FAILED job it waits for fails it (`Dependent Job failed`).
 */

/**
 * The jobs each unit of a new job waits for, from its `dependsOn`: a plain job or every child waits
 * for each job named without a type (a whole array job, or one child `${id}:${index}`); with
 * N_TO_N, child i waits for child i of the named array job, which must have the same size; with
 * SEQUENTIAL, child i waits for child i - 1 of its own job.
 *
 * @throws ComputeSubmissionError (not retryable) for a job id the environment does not know, or an
 *   N_TO_N dependency on a job that is not an array job of the same size, as AWS refuses them.
 */
export function prerequisitesOf(job: Job, spec: JobSpec, lookup: (jobId: string) => Job | undefined): Map<Unit, Job[]> {
  const problems: string[] = [];
  const whole: Job[] = [];
  const nToN: Parent[] = [];
  let sequential = false;
  for (const dependency of spec.dependsOn) {
    if (dependency.type === 'SEQUENTIAL') {
      sequential = true;
      continue;
    }
    const target = lookup(dependency.jobId!);
    if (!target) {
      problems.push(`dependsOn job ${dependency.jobId} does not exist`);
    } else if (dependency.type === 'N_TO_N') {
      const size = job.kind === 'parent' ? job.children.length : undefined;
      if (target.kind !== 'parent' || target.children.length !== size) {
        problems.push(`dependsOn job ${dependency.jobId}: an N_TO_N dependency needs an array job of this job's size (${size})`);
      } else {
        nToN.push(target);
      }
    } else {
      whole.push(target);
    }
  }
  if (problems.length > 0) throw new ComputeSubmissionError(`job "${spec.jobName}" was refused: ${problems.join('; ')}`, false);

  const waits = new Map<Unit, Job[]>();
  if (job.kind === 'unit') {
    if (whole.length > 0) waits.set(job, whole);
    return waits;
  }
  job.children.forEach((child, i) => {
    const prerequisites = [...whole, ...nToN.map((parent) => parent.children[i])];
    if (sequential && i > 0) prerequisites.push(job.children[i - 1]);
    if (prerequisites.length > 0) waits.set(child, prerequisites);
  });
  return waits;
}

/** What the tracker does to a unit once what it waits for is settled. */
export interface DependencyOutcomes {
  /** Every job the unit waited for SUCCEEDED: it may become RUNNABLE. */
  ready(unit: Unit): void;
  /** A job the unit waited for FAILED: the unit fails without running. */
  failed(unit: Unit): void;
}

/**
 * Units waiting PENDING for other jobs to finish. Settling a job may fail its dependents, which
 * settles them in turn: that cascade (a 10,000-child SEQUENTIAL array whose first child failed) is
 * worked off in a loop, never by recursion.
 */
export class DependencyTracker {
  /** Units waiting, by the job they wait for. */
  private readonly dependents = new Map<Job, Unit[]>();
  /** How many jobs each waiting unit still waits for. */
  private readonly unmet = new Map<Unit, number>();
  private readonly settledQueue: Job[] = [];
  private draining = false;

  constructor(private readonly outcomes: DependencyOutcomes) {}

  /**
   * Records what `unit` waits for: `ready` when nothing is left to wait for (what has SUCCEEDED is
   * met), `failed` when one of them has already FAILED, else `waiting` (the unit stays PENDING).
   */
  wait(unit: Unit, prerequisites: readonly Job[]): 'ready' | 'failed' | 'waiting' {
    const open = new Set<Job>();
    for (const job of prerequisites) {
      if (job.status === 'FAILED') return 'failed';
      if (job.status !== 'SUCCEEDED') open.add(job);
    }
    if (open.size === 0) return 'ready';
    for (const job of open) {
      const list = this.dependents.get(job);
      if (list) list.push(unit);
      else this.dependents.set(job, [unit]);
    }
    this.unmet.set(unit, open.size);
    return 'waiting';
  }

  /** `job` has SUCCEEDED or FAILED: its dependents become ready or fail. */
  settled(job: Job): void {
    if (job.kind === 'unit') this.unmet.delete(job);
    if (!this.dependents.has(job)) return;
    this.settledQueue.push(job);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let i = 0; i < this.settledQueue.length; i += 1) this.release(this.settledQueue[i]);
    } finally {
      this.settledQueue.length = 0;
      this.draining = false;
    }
  }

  private release(job: Job): void {
    const units = this.dependents.get(job) ?? [];
    this.dependents.delete(job);
    for (const unit of units) {
      const left = this.unmet.get(unit);
      // Gone: cancelled or terminated while it waited, or failed by another job it waited for.
      if (left === undefined || unit.status !== 'PENDING') continue;
      if (job.status === 'FAILED') {
        this.unmet.delete(unit);
        this.outcomes.failed(unit);
      } else if (left === 1) {
        this.unmet.delete(unit);
        this.outcomes.ready(unit);
      } else {
        this.unmet.set(unit, left - 1);
      }
    }
  }
}
