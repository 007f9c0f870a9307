import { Logger } from '@nestjs/common';
import { envelope, NightshiftSource, RunRequested } from '@nightshift/contracts';
import type { EventPublisher, OutgoingEvent } from '@nightshift/events-domain';
import {
  nextFireTimes,
  parseScheduleExpression,
  type Clock,
  type PipelineDefinition,
  type ScheduleCursor,
  type ScheduleDefinition,
  type ScheduleState,
} from '@nightshift/jobs-domain';

const MINUTE_MS = 60_000;

/** The most fires one schedule publishes per tick; the rest of a long catch-up goes in the next ticks. */
export const MAX_FIRES_PER_TICK = 1_000;

/**
 * A cursor's claimed fires are taken over (published again) by another process once they have been
 * pending this long: their claimant died between claiming and clearing them. Longer than any
 * publish takes, so a live claimant is not duplicated; a duplicate would still be harmless.
 */
export const PENDING_TAKEOVER_MS = 30_000;

/** What one tick decides for one schedule, from its cursor and the time alone. */
export interface TickPlan {
  /** The cursor's next `lastFireTime`: the last fire considered. Undefined when no fire passed (nothing to write). */
  lastFireTime?: string;
  /** Fires to publish (ISO-8601), oldest first: the on-time ones and those the catch-up policy keeps. */
  publish: string[];
  /** Missed fires dropped (catch-up policy `none`, beyond `latest`, or a disabled schedule). */
  dropped: number;
}

/**
 * How late a fire may be published and still count as on time: the schedule's flexible time window
 * (EventBridge Scheduler may deliver that late), and at least a minute (a tick, a slow store).
 */
export function onTimeToleranceMs(schedule: Pick<ScheduleDefinition, 'flexibleTimeWindowMinutes'>): number {
  return Math.max(schedule.flexibleTimeWindowMinutes ?? 0, 1) * MINUTE_MS;
}

/**
 * The fires of `schedule` in (cursor's `lastFireTime` (else `createdAt`), `now`], decided: a fire at
 * most `onTimeToleranceMs` old is on time and published; an older one was missed (nothing ran to
 * fire it) and the catch-up policy decides: `none` drops it, `latest` keeps the most recent one
 * within `windowMinutes`, `all` keeps every one within `windowMinutes` (at most
 * `MAX_FIRES_PER_TICK` a tick; the cursor stops at the last one kept, so the next tick goes on).
 * Fires before the window are dropped without being listed. A disabled schedule publishes nothing
 * and moves its cursor along, so enabling it again does not catch up what it was disabled for.
 * `rate(...)` periods count from the cursor's `createdAt`.
 */
export function planTick(schedule: ScheduleDefinition, cursor: Pick<ScheduleCursor, 'createdAt' | 'lastFireTime'>, now: Date): TickPlan {
  const parsed = parseScheduleExpression(schedule.expression, { timezone: schedule.timezone });
  const nowMs = now.getTime();
  const tolerance = onTimeToleranceMs(schedule);
  const policy = schedule.enabled ? schedule.catchUp.policy : 'none';
  const windowMs = schedule.catchUp.windowMinutes * MINUTE_MS;
  // Fires older than the window are dropped unlisted (however many a long outage left); those in it are counted, and the cursor moves past them.
  const horizon = nowMs - Math.max(tolerance, schedule.enabled ? windowMs : 0);
  const anchor = new Date(cursor.createdAt);
  let from = Math.max(Date.parse(cursor.lastFireTime ?? cursor.createdAt) + 1, horizon);

  const onTime: number[] = [];
  const caughtUp: number[] = [];
  let last: number | undefined;
  let dropped = 0;
  // Small batches first: most ticks find no fire due, and listing a thousand future ones each time is waste.
  let size = 8;
  scan: for (;;) {
    const batch = nextFireTimes(parsed, new Date(from), size, { anchor });
    for (const fire of batch) {
      const at = fire.getTime();
      if (at > nowMs || onTime.length + caughtUp.length >= MAX_FIRES_PER_TICK) break scan;
      last = at;
      if (!schedule.enabled) dropped++;
      else if (nowMs - at <= tolerance) onTime.push(at);
      else if (policy === 'none' || nowMs - at > windowMs) dropped++;
      else if (policy === 'all') caughtUp.push(at);
      else {
        dropped += caughtUp.length;
        caughtUp.splice(0, caughtUp.length, at);
      }
    }
    const tail = batch.at(-1);
    if (batch.length < size || tail === undefined) break;
    from = tail.getTime() + 1;
    size = Math.min(size * 4, MAX_FIRES_PER_TICK);
  }
  const iso = (ms: number) => new Date(ms).toISOString();
  return { ...(last !== undefined ? { lastFireTime: iso(last) } : {}), publish: [...caughtUp, ...onTime].map(iso), dropped };
}

/** The Run Requested a fire publishes: source `nightshift.scheduler`, an event id derived from the schedule and the fire time. */
export function scheduledRunRequest(pipeline: string, schedule: string, scheduledTime: string): OutgoingEvent {
  const at = new Date(scheduledTime);
  const eventId = `schedule-${pipeline}-${schedule}-${at.getTime()}`;
  const data = { pipeline, requestedBy: `nightshift.scheduler (${pipeline}/${schedule})`, schedule: { name: schedule, scheduledTime } };
  // Parsed here so that a contract change breaks the scheduler's tests, not a night's runs.
  const detail = RunRequested.detail.parse(envelope(data, { eventId, correlationId: eventId, occurredAt: at }));
  return { source: NightshiftSource.scheduler, detailType: RunRequested.detailType, detail };
}

/** What one schedule's turn of a tick did. */
export interface ScheduleTickOutcome {
  pipeline: string;
  schedule: string;
  /** Fires published (claimed by this process, or taken over from a dead one). */
  published: string[];
  dropped: number;
}

/** What the scheduler needs: the schedules' state, the bus, and the time. */
export interface SchedulerPorts {
  schedules: ScheduleState;
  publisher: EventPublisher;
  clock: Clock;
}

/**
 * The embedded mode's EventBridge Scheduler: for each schedule of each pipeline, publishes a Run
 * Requested per fire, once across processes and restarts. Exclusivity comes from the cursor's
 * conditional writes only: a process claims fires by moving the cursor (last fire considered, and
 * the fires it is about to publish as `pending`), publishes them, then clears `pending`. A process
 * that loses a claim publishes nothing; one that finds fires pending for `PENDING_TAKEOVER_MS` (their
 * claimant died) publishes them again, which is harmless: the planner derives the run from the
 * schedule and the fire time. A first start creates the cursor at now and never fires history.
 */
export class Scheduler {
  constructor(
    private readonly ports: SchedulerPorts,
    private readonly pipelines: readonly PipelineDefinition[],
    private readonly log: Pick<Logger, 'log' | 'warn' | 'error'> = new Logger('scheduler'),
  ) {}

  /** One pass over every schedule; a schedule that fails is logged and left to the next tick, the others go on. */
  async tick(): Promise<ScheduleTickOutcome[]> {
    const outcomes: ScheduleTickOutcome[] = [];
    for (const pipeline of this.pipelines) {
      for (const schedule of pipeline.schedules) {
        try {
          const outcome = await this.fireDue(pipeline, schedule);
          if (outcome.published.length + outcome.dropped > 0) outcomes.push(outcome);
        } catch (e) {
          this.log.error(`schedule ${schedule.name} of ${pipeline.name}: ${e instanceof Error ? e.message : String(e)} (the next tick tries again)`);
        }
      }
    }
    return outcomes;
  }

  /** Publishes what is due of one schedule (see the class). */
  async fireDue(pipeline: PipelineDefinition, schedule: ScheduleDefinition): Promise<ScheduleTickOutcome> {
    const { schedules, clock } = this.ports;
    const outcome: ScheduleTickOutcome = { pipeline: pipeline.name, schedule: schedule.name, published: [], dropped: 0 };
    const now = clock.now();
    let cursor = await schedules.getCursor(pipeline.name, schedule.name);
    if (!cursor) {
      // Created at now: the window (now, now] holds nothing, so a first start fires no history.
      await schedules.createCursor(pipeline.name, schedule.name, now);
      return outcome;
    }
    if (cursor.pending && cursor.pending.length > 0) {
      const claimedAt = cursor.claimedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(cursor.claimedAt);
      // Its claimant is publishing them, or died doing so: wait for it, or take over.
      if (now.getTime() - claimedAt < PENDING_TAKEOVER_MS) return outcome;
      this.log.warn(`schedule ${schedule.name} of ${pipeline.name}: publishing ${cursor.pending.length} fire(s) claimed at ${cursor.claimedAt ?? '?'} and never cleared`);
      await this.publish(pipeline.name, schedule.name, cursor.pending);
      outcome.published.push(...cursor.pending);
      cursor = await schedules.moveCursor(cursor, cursor.lastFireTime !== undefined ? { lastFireTime: cursor.lastFireTime } : {});
      if (!cursor) return outcome;
    }
    const plan = planTick(schedule, cursor, now);
    outcome.dropped = plan.dropped;
    if (plan.lastFireTime === undefined) return outcome;
    if (plan.dropped > 0) {
      this.log.warn(`schedule ${schedule.name} of ${pipeline.name}: ${plan.dropped} missed fire(s) up to ${plan.lastFireTime} dropped (${schedule.enabled ? `catch-up ${schedule.catchUp.policy}, window ${schedule.catchUp.windowMinutes} min` : 'disabled'})`);
    }
    if (plan.publish.length === 0) {
      await schedules.moveCursor(cursor, { lastFireTime: plan.lastFireTime });
      return outcome;
    }
    const claimed = await schedules.moveCursor(cursor, { lastFireTime: plan.lastFireTime, pending: plan.publish, claimedAt: now.toISOString() });
    // Another process claimed these fires first: it publishes them.
    if (!claimed) return { ...outcome, dropped: 0 };
    await this.publish(pipeline.name, schedule.name, plan.publish);
    outcome.published.push(...plan.publish);
    await schedules.moveCursor(claimed, { lastFireTime: plan.lastFireTime });
    return outcome;
  }

  private async publish(pipeline: string, schedule: string, fires: readonly string[]): Promise<void> {
    await this.ports.publisher.publish(fires.map((fire) => scheduledRunRequest(pipeline, schedule, fire)));
  }
}
