import { Logger } from '@nestjs/common';
import type { RunRequestedDetail } from '@nightshift/contracts';
import {
  canonicalFireTime,
  decideFire,
  runIdFor,
  scheduledTriggerId,
  type Clock,
  type JobStore,
  type PlanRequest,
  type ScheduleFireRecord,
  type ScheduleState,
} from '@nightshift/jobs-domain';
import type { RunEngine } from './run-engine.js';

/** What a run request carries besides its data: the trigger its run id derives from, correlation, trace, tenant. */
export type RunRequestMeta = Omit<PlanRequest, 'pipeline' | 'dataset' | 'now'>;

/** A run request whose business date is known (given, or derived from a fire). */
export type DatedRunRequest = RunRequestedDetail['data'] & { businessDate: string };

/** The planner's own path for a dated request: resolve the dataset, start the run or record why not. */
export type RequestRun = (request: DatedRunRequest, meta: RunRequestMeta) => Promise<void>;

/**
 * A schedule's fire, as Run Requested brings it (from EventBridge Scheduler or the embedded
 * scheduler alike): the planner derives what neither scheduler can, the business date, from the
 * fire time, the schedule's time zone and the pipeline's calendar. A `businessDaysOnly` fire on a
 * non-business day is skipped, with the calendar's reason. The run's trigger is the schedule and
 * the fire time (`scheduledTriggerId`), so every delivery of one fire, and the same fire from two
 * schedulers, asks for one run. Every fire's outcome is recorded (`ScheduleState.recordFire`).
 */
export class ScheduledRuns {
  private readonly log = new Logger('planner');

  constructor(
    private readonly engine: RunEngine,
    private readonly store: JobStore,
    private readonly schedules: ScheduleState,
    private readonly clock: Clock,
  ) {}

  /**
   * Handles one fire: skips it, or asks for its run through `requestRun` (the handler's path for
   * any dated request) with the fire's business date and trigger. Idempotent: a redelivery finds
   * the run (or the failed one) and the record the first delivery made.
   */
  async onFire(data: RunRequestedDetail['data'], meta: RunRequestMeta, requestRun: RequestRun): Promise<void> {
    const fire = data.schedule;
    if (!fire) throw new TypeError('ScheduledRuns.onFire: a request without schedule is not a fire');
    const scheduledTime = canonicalFireTime(fire.scheduledTime);
    const base = { pipeline: data.pipeline, schedule: fire.name, scheduledTime };
    const runMeta: RunRequestMeta = { ...meta, triggerEventId: scheduledTriggerId(data.pipeline, fire.name, scheduledTime) };
    const label = `schedule ${fire.name} of ${data.pipeline}`;

    const pipeline = this.engine.pipeline(data.pipeline);
    const schedule = pipeline?.schedules.find((s) => s.name === fire.name);
    if (!pipeline || !schedule) {
      // As a request naming an unknown pipeline: a failed run, under the fire time's UTC date (no calendar or zone to derive one with).
      const reason = pipeline ? `pipeline ${pipeline.name} has no schedule "${fire.name}"` : `unknown pipeline "${data.pipeline}"`;
      const businessDate = scheduledTime.slice(0, 10);
      await this.engine.failUnplannable({ ...runMeta, pipeline: data.pipeline, businessDate, reason });
      await this.record({ ...base, outcome: 'RUN_REQUESTED', runId: runIdFor(data.pipeline, businessDate, runMeta.triggerEventId), businessDate, reason });
      this.log.warn(`${label} fired at ${displayTime(scheduledTime)}: ${reason}`);
      return;
    }

    const decision = decideFire(pipeline, schedule, new Date(scheduledTime));
    if (decision.kind === 'skip') {
      await this.record({ ...base, outcome: 'SKIPPED', reason: decision.reason });
      this.log.warn(`${label} skipped the fire at ${displayTime(scheduledTime)}: ${decision.reason}`);
      return;
    }
    const { businessDate } = decision;
    const runId = runIdFor(pipeline.name, businessDate, runMeta.triggerEventId);
    await requestRun({ pipeline: data.pipeline, requestedBy: data.requestedBy, schedule: fire, businessDate }, runMeta);
    // The run as the request left it: planned, or failed at once (no dataset for the date, say), with why.
    const run = await this.store.getRun(runId);
    const reason = run?.status === 'FAILED' ? run.reason : undefined;
    await this.record({ ...base, outcome: 'RUN_REQUESTED', runId, businessDate, ...(reason !== undefined ? { reason } : {}) });
    this.log.log(`${label} fired at ${displayTime(scheduledTime)}: run ${runId} for ${businessDate}${reason !== undefined ? ` (failed: ${reason})` : ''}`);
  }

  private async record(fire: Omit<ScheduleFireRecord, 'at'>): Promise<void> {
    await this.schedules.recordFire({ ...fire, at: this.clock.now().toISOString() });
  }
}

/** A fire time as people read it in logs: whole seconds without the milliseconds. */
function displayTime(iso: string): string {
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}
