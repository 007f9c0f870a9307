import { assertEventFits, type EventPublisher } from '@nightshift/events-domain';
import { attemptOf, isTerminalTaskStatus, type ComputeEnvironment, type JobStore, type OutboxEntry, type Run } from '@nightshift/jobs-domain';
import { jobOwnerOf, tasksOfStep } from './job-params.js';

/**
 * Carries out a run's outbox: the effects its last transition recorded with it. Every entry is
 * idempotent (events carry deterministic ids, stopping a stopped job does nothing), so a crash
 * between an effect and `settleOutbox` only repeats it, and the reconciliation sweep drains what a
 * crashed process left.
 */
export class OutboxRelay {
  constructor(
    private readonly store: JobStore,
    private readonly compute: ComputeEnvironment,
    private readonly publisher: EventPublisher,
  ) {}

  /** Builds an event entry, refusing (EventTooLargeError) one that could never be published. */
  static event(id: string, event: { source: string; detailType: string; detail: unknown; resources?: string[] }): OutboxEntry {
    assertEventFits(event);
    return { id, kind: 'event', ...event };
  }

  async drain(run: Run): Promise<Run> {
    const entries = run.outbox ?? [];
    if (entries.length === 0) return run;
    for (const entry of entries) await this.carryOut(run, entry);
    return this.store.settleOutbox(run.runId, entries.map((e) => e.id));
  }

  private async carryOut(run: Run, entry: OutboxEntry): Promise<void> {
    switch (entry.kind) {
      case 'event':
        await this.publisher.publish([
          { source: entry.source, detailType: entry.detailType, detail: entry.detail, ...(entry.resources ? { resources: entry.resources } : {}) },
        ]);
        return;
      case 'stop-jobs':
        if (await this.retriedSince(run.runId, entry.attempt ?? 1)) return;
        await this.stopJobs(run, entry.reason);
        return;
    }
  }

  /**
   * Whether a retry has started a later attempt of the run than `attempt` since this entry was
   * read: the jobs are then that attempt's, and a late relay of the failure before must not stop
   * them. (A retry reopens a run only once its outbox is drained, so this guards a relay that read
   * the outbox before another one drained it.)
   */
  private async retriedSince(runId: string, attempt: number): Promise<boolean> {
    const current = await this.store.getRun(runId);
    return current !== undefined && attemptOf(current) > attempt;
  }

  /**
   * Terminates every unfinished job of the run: each submitted step's job (all its array children)
   * and any task resubmitted as a job of its own. Reads the tasks of unfinished steps, once, on
   * this failure path only.
   */
  private async stopJobs(run: Run, reason: string): Promise<void> {
    for (const step of await this.store.listSteps(run.runId)) {
      if (step.jobId && (step.status === 'SUBMITTED' || step.status === 'FAILED')) await this.compute.terminateJob(step.jobId, reason);
      if (step.status === 'SUCCEEDED' || step.status === 'PENDING') continue;
      for (const task of (await tasksOfStep(this.store, run.runId, step.step)).values()) {
        if (jobOwnerOf(task, step.jobId) === 'alone' && !isTerminalTaskStatus(task.status)) await this.compute.terminateJob(task.jobId!, reason);
      }
    }
  }
}
