import { Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { NightshiftSource, RunRequested, type RunRequestedDetail } from '@nightshift/contracts';
import { parseScheduleExpression, stableHash, InvalidScheduleExpressionError, type PipelineDefinition, type ScheduleDefinition } from '@nightshift/jobs-domain';
import { InfraConfigError } from '../config.js';

/** Props of {@link PipelineSchedules}. */
export interface PipelineSchedulesProps {
  /** The nightshift bus the schedules publish `Run Requested` on. */
  readonly bus: events.IEventBus;
  /** Name of the schedule group holding every schedule of this deployment (the deployment's prefix). */
  readonly groupName: string;
}

/** One schedule of {@link PipelineSchedules.addSchedule}: a pipeline's schedule, as the pipeline declares it. */
export interface PipelineScheduleOptions {
  /** The pipeline the schedule starts runs of (its name). */
  readonly pipeline: string;
  /** The schedule (`scheduleDefinitionSchema`): expression, time zone, flexible window, enabled. */
  readonly schedule: ScheduleDefinition;
}

/** EventBridge Scheduler's longest schedule name. */
const MAX_SCHEDULE_NAME = 64;

/**
 * The Scheduler name of a pipeline's schedule: `<pipeline>.<schedule>` (names have no `.`, so two
 * pairs never meet), or, beyond Scheduler's 64 characters, its first 56 and a hash of the whole.
 */
export function scheduleNameOf(pipeline: string, schedule: string): string {
  const name = `${pipeline}.${schedule}`;
  return name.length <= MAX_SCHEDULE_NAME ? name : `${name.slice(0, MAX_SCHEDULE_NAME - 8)}-${stableHash(name)}`;
}

/**
 * The Run Requested detail a fire puts on the bus, for a fire time and schedule ARN. With
 * Scheduler's context attributes (`<aws.scheduler.scheduled-time>`, `<aws.scheduler.schedule-arn>`)
 * it is the schedule's Input; with real values, what the planner receives. No business date:
 * Scheduler cannot compute one, the planner derives it from the fire time and the pipeline's calendar.
 * The event id derives from the schedule and the fire time, as the embedded scheduler's does.
 */
export function scheduledRunRequestDetail(pipeline: string, schedule: string, scheduledTime: string, scheduleArn: string): RunRequestedDetail {
  const eventId = `schedule-${pipeline}-${schedule}-${scheduledTime}`;
  return {
    metadata: { eventId, correlationId: eventId, occurredAt: scheduledTime },
    data: { pipeline, requestedBy: scheduleArn, schedule: { name: schedule, scheduledTime } },
  };
}

/**
 * EventBridge Scheduler schedules that put `Run Requested` (source `nightshift.scheduler`, which the
 * planner's rule accepts) on the bus: one schedule group, one execution role allowed nothing but
 * `events:PutEvents` on that bus, and one schedule per schedule the deployed pipelines declare
 * ({@link addPipelineSchedules}), with the same expression, time zone, flexible window and state.
 */
export class PipelineSchedules extends Construct {
  /** The group every schedule is created in; deleting the stack deletes it and its schedules. */
  readonly group: scheduler.ScheduleGroup;
  /** The role Scheduler assumes to publish: trusted only for this account's schedules in {@link group}. */
  readonly role: iam.Role;
  private readonly bus: events.IEventBus;

  constructor(scope: Construct, id: string, props: PipelineSchedulesProps) {
    super(scope, id);
    this.bus = props.bus;
    // Destroyed with the stack: a retained group would make the stack's next creation fail on its name.
    this.group = new scheduler.ScheduleGroup(this, 'Group', { scheduleGroupName: props.groupName, removalPolicy: RemovalPolicy.DESTROY });
    this.role = new iam.Role(this, 'Role', {
      description: `EventBridge Scheduler publishing Run Requested on ${props.bus.eventBusName}`,
      // Confused-deputy guard: only schedules of this account, in this group, may assume it.
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account, 'aws:SourceArn': this.group.scheduleGroupArn } },
      }),
    });
  }

  /** One schedule per schedule of each pipeline (in order); pipelines without schedules add none. */
  addPipelineSchedules(pipelines: readonly PipelineDefinition[]): scheduler.Schedule[] {
    return pipelines.flatMap((p) => p.schedules.map((schedule) => this.addSchedule({ pipeline: p.name, schedule })));
  }

  /**
   * Adds the Scheduler schedule of one pipeline schedule. Throws InfraConfigError when the
   * expression or time zone does not parse, or the fire's Run Requested would not be valid.
   */
  addSchedule(options: PipelineScheduleOptions): scheduler.Schedule {
    const { pipeline, schedule } = options;
    const name = scheduleNameOf(pipeline, schedule.name);
    try {
      parseScheduleExpression(schedule.expression, { timezone: schedule.timezone });
    } catch (e) {
      if (e instanceof InvalidScheduleExpressionError) throw new InfraConfigError(`schedule ${name}: ${e.message}`, { cause: e });
      throw e;
    }
    // Checked with the values Scheduler substitutes, in the form it writes them.
    const sample = RunRequested.detail.safeParse(scheduledRunRequestDetail(pipeline, schedule.name, '2026-01-02T06:30:00Z', `arn:aws:scheduler:eu-west-1:111111111111:schedule/g/${name}`));
    if (!sample.success) {
      const problems = sample.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new InfraConfigError(`schedule ${name}: not a valid Run Requested: ${problems}`);
    }
    const created = new scheduler.Schedule(this, `${pipeline}:${schedule.name}`, {
      scheduleName: name,
      scheduleGroup: this.group,
      description: `Requests a run of ${pipeline} (its schedule ${schedule.name})`,
      schedule: scheduler.ScheduleExpression.expression(schedule.expression, TimeZone.of(schedule.timezone)),
      timeWindow: schedule.flexibleTimeWindowMinutes === undefined ? scheduler.TimeWindow.off() : scheduler.TimeWindow.flexible(Duration.minutes(schedule.flexibleTimeWindowMinutes)),
      enabled: schedule.enabled,
      target: new targets.EventBridgePutEvents(
        {
          eventBus: this.bus,
          source: NightshiftSource.scheduler,
          detailType: RunRequested.detailType,
          detail: scheduler.ScheduleTargetInput.fromObject(
            scheduledRunRequestDetail(pipeline, schedule.name, scheduler.ContextAttribute.scheduledTime, scheduler.ContextAttribute.scheduleArn),
          ),
        },
        { role: this.role },
      ),
    });
    // The schedule names its group by name, which CloudFormation does not read as a dependency.
    created.node.addDependency(this.group);
    return created;
  }
}
