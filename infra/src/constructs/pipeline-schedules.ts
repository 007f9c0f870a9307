import { RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { NightshiftSource, RunRequested, type RunRequestedDetail } from '@nightshift/contracts';
import { InfraConfigError } from '../config.js';

/** Props of {@link PipelineSchedules}. */
export interface PipelineSchedulesProps {
  /** The nightshift bus the schedules publish `Run Requested` on. */
  readonly bus: events.IEventBus;
  /** Name of the schedule group holding every schedule of this deployment (the deployment's prefix). */
  readonly groupName: string;
}

/**
 * What a schedule asks for besides the pipeline: the rest of `Run Requested`'s data. `requestedBy`
 * is the schedule's ARN, filled in by Scheduler at each invocation.
 */
export type ScheduledRunRequest = Omit<RunRequestedDetail['data'], 'pipeline' | 'requestedBy'>;

/** One schedule of {@link PipelineSchedules.addSchedule}. */
export interface PipelineScheduleOptions {
  /** Schedule name, unique in the group (1-64 letters, digits, `.`, `_`, `-`). */
  readonly name: string;
  /** An EventBridge Scheduler expression: `cron(…)` (6 fields) or `rate(…)`. */
  readonly expression: string;
  /** IANA time zone the cron expression is evaluated in, e.g. `Europe/London` (daylight saving followed). */
  readonly timezone: string;
  /** The pipeline to run. */
  readonly pipeline: string;
  /** The rest of the request; checked against the `Run Requested` contract at synth. */
  readonly detail: ScheduledRunRequest;
}

const EXPRESSION = /^(cron|rate)\(.+\)$/;

/**
 * EventBridge Scheduler schedules that put `Run Requested` (source `nightshift.scheduler`, which the
 * planner's rule accepts) on the bus: one schedule group, one execution role allowed nothing but
 * `events:PutEvents` on that bus. Pipelines declare no schedules yet; when they do, the messaging
 * stack calls {@link addSchedule} for each.
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

  /**
   * Adds a schedule requesting a run of `pipeline`. Throws InfraConfigError when the expression is
   * neither `cron(…)` nor `rate(…)` or the request would not be a valid `Run Requested`.
   */
  addSchedule(options: PipelineScheduleOptions): scheduler.Schedule {
    const { name, expression, timezone, pipeline } = options;
    if (!EXPRESSION.test(expression)) {
      throw new InfraConfigError(`schedule ${name}: expression must be cron(…) or rate(…), got ${JSON.stringify(expression)}`);
    }
    const data = RunRequested.detail.shape.data.safeParse({ ...options.detail, pipeline, requestedBy: scheduler.ContextAttribute.scheduleArn });
    if (!data.success) {
      const problems = data.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new InfraConfigError(`schedule ${name}: not a valid Run Requested: ${problems}`);
    }
    const schedule = new scheduler.Schedule(this, name, {
      scheduleName: name,
      scheduleGroup: this.group,
      description: `Requests a run of ${pipeline}`,
      schedule: scheduler.ScheduleExpression.expression(expression, TimeZone.of(timezone)),
      // Runs are planned for a business date: they fire at the time the pipeline's owners chose.
      timeWindow: scheduler.TimeWindow.off(),
      target: new targets.EventBridgePutEvents(
        {
          eventBus: this.bus,
          source: NightshiftSource.scheduler,
          detailType: RunRequested.detailType,
          detail: scheduler.ScheduleTargetInput.fromObject({
            // The envelope every nightshift event carries, from Scheduler's context attributes: a
            // scheduled run starts its own flow, so its invocation id is both event and correlation id.
            metadata: {
              eventId: scheduler.ContextAttribute.executionId,
              correlationId: scheduler.ContextAttribute.executionId,
              occurredAt: scheduler.ContextAttribute.scheduledTime,
            },
            data: data.data,
          }),
        },
        { role: this.role },
      ),
    });
    // The schedule names its group by name, which CloudFormation does not read as a dependency.
    schedule.node.addDependency(this.group);
    return schedule;
  }
}
