import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunRequested, SERVICE_RULES } from '@nightshift/contracts';
import { definePipeline, noopPipeline, scheduleDefinitionSchema, type PipelineDefinition } from '@nightshift/jobs-domain';
import { InfraConfigError } from '../config.js';
import { PipelineSchedules, scheduleNameOf } from './pipeline-schedules.js';

/** A pipeline declaring the schedules given (as a pipeline file would). */
function pipelineWith(name: string, schedules: unknown[]): PipelineDefinition {
  return definePipeline({ ...noopPipeline(name, 1, { trigger: `${name}-data` }), calendar: 'XLON', schedules });
}

const NIGHTLY = pipelineWith('nightly-tca', [
  { name: 'nightly', expression: 'cron(30 6 ? * MON-FRI *)', timezone: 'Europe/London', businessDaysOnly: true },
  { name: 'intraday', expression: 'rate(15 minutes)', flexibleTimeWindowMinutes: 5, enabled: false },
]);

function aStack(): { app: App; stack: Stack; bus: events.EventBus; schedules: PipelineSchedules } {
  const app = new App();
  const stack = new Stack(app, 'Schedules');
  const bus = new events.EventBus(stack, 'Bus', { eventBusName: 'ns-test' });
  return { app, stack, bus, schedules: new PipelineSchedules(stack, 'Schedules', { bus, groupName: 'ns-test' }) };
}

/** The Schedule resource of that Scheduler name. */
type ScheduleResource = { Properties: { Target: { Input: string } } & Record<string, unknown> };
function scheduleNamed(template: Template, name: string): ScheduleResource {
  const found = Object.values(template.findResources('AWS::Scheduler::Schedule', { Properties: { Name: name } }));
  expect(found, `schedule ${name}`).toHaveLength(1);
  return found[0] as ScheduleResource;
}

describe("PipelineSchedules with a pipeline's schedules", () => {
  let template: Template;
  let busArn: unknown;
  let groupId: string;
  let roleArn: unknown;

  beforeAll(() => {
    const { stack, bus, schedules } = aStack();
    schedules.addPipelineSchedules([NIGHTLY, noopPipeline('unscheduled', 1)]);
    template = Template.fromStack(stack);
    busArn = stack.resolve(bus.eventBusArn);
    groupId = stack.getLogicalId(schedules.group.node.defaultChild as never);
    roleArn = stack.resolve(schedules.role.roleArn);
  });

  it('creates one schedule per pipeline schedule, in the group named after the prefix, with its expression and time zone', () => {
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'ns-test' });
    template.resourceCountIs('AWS::Scheduler::Schedule', 2);
    template.hasResource('AWS::Scheduler::Schedule', {
      DependsOn: Match.arrayWith([groupId]),
      Properties: Match.objectLike({
        Name: 'nightly-tca.nightly',
        GroupName: 'ns-test',
        ScheduleExpression: 'cron(30 6 ? * MON-FRI *)',
        ScheduleExpressionTimezone: 'Europe/London',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
      }),
    });
  });

  it("carries the schedule's flexible time window and state", () => {
    expect(scheduleNamed(template, 'nightly-tca.intraday').Properties).toMatchObject({
      ScheduleExpression: 'rate(15 minutes)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 },
      State: 'DISABLED',
    });
  });

  it('puts Run Requested from nightshift.scheduler on the bus, through its own role', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: Match.objectLike({ Arn: busArn, RoleArn: roleArn, EventBridgeParameters: { Source: 'nightshift.scheduler', DetailType: RunRequested.detailType } }),
    });
  });

  it("sends the fire time as the request's schedule fire (no business date: the planner derives it), and the contract and the planner's rule accept it", () => {
    const input = scheduleNamed(template, 'nightly-tca.nightly').Properties.Target.Input
      .replaceAll('<aws.scheduler.scheduled-time>', '2026-01-02T06:30:00Z')
      .replaceAll('<aws.scheduler.schedule-arn>', 'arn:aws:scheduler:eu-west-1:111111111111:schedule/ns-test/nightly-tca.nightly');
    expect(input).not.toContain('<aws.scheduler.');
    expect(RunRequested.detail.parse(JSON.parse(input))).toEqual({
      metadata: {
        eventId: 'schedule-nightly-tca-nightly-2026-01-02T06:30:00Z',
        correlationId: 'schedule-nightly-tca-nightly-2026-01-02T06:30:00Z',
        occurredAt: '2026-01-02T06:30:00Z',
      },
      data: {
        pipeline: 'nightly-tca',
        requestedBy: 'arn:aws:scheduler:eu-west-1:111111111111:schedule/ns-test/nightly-tca.nightly',
        schedule: { name: 'nightly', scheduledTime: '2026-01-02T06:30:00Z' },
      },
    });
    const plannerRule = SERVICE_RULES.planner.find((r) => r.name === 'planner-run-requested')!;
    expect(plannerRule.eventPattern['source']).toContain('nightshift.scheduler');
  });

  it('lets its role do nothing but events:PutEvents on the bus, and only for schedules of this account in the group', () => {
    template.resourceCountIs('AWS::IAM::Policy', 1);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn }] },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' }, 'aws:SourceArn': { 'Fn::GetAtt': [groupId, 'Arn'] } } },
          },
        ],
      },
    });
  });
});

describe('PipelineSchedules names', () => {
  it("keeps a pipeline's and a schedule's names apart, and within Scheduler's 64 characters", () => {
    expect(scheduleNameOf('a-b', 'c')).not.toBe(scheduleNameOf('a', 'b-c'));
    const long = scheduleNameOf('p'.repeat(63), 's'.repeat(63));
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(long).not.toBe(scheduleNameOf('p'.repeat(63), `${'s'.repeat(62)}t`));
  });
});

describe('PipelineSchedules.addSchedule refuses', () => {
  it('an expression or time zone that does not parse, naming the schedule', () => {
    const { schedules } = aStack();
    const bad = scheduleDefinitionSchema.parse({ name: 'nightly', expression: '30 6 * * *' });
    expect(() => schedules.addSchedule({ pipeline: 'nightly-tca', schedule: bad })).toThrow(InfraConfigError);
    expect(() => schedules.addSchedule({ pipeline: 'nightly-tca', schedule: { ...bad, expression: 'cron(0 7 * * ? *)', timezone: 'Mars/Olympus' } })).toThrow(/nightly-tca\.nightly.*Mars/);
  });

  it('a request the Run Requested contract would reject, naming the field', () => {
    const { schedules } = aStack();
    const ok = scheduleDefinitionSchema.parse({ name: 'nightly', expression: 'cron(0 7 * * ? *)' });
    expect(() => schedules.addSchedule({ pipeline: 'Nightly TCA', schedule: ok })).toThrow(/pipeline/);
  });
});

describe('PipelineSchedules under cdk-nag AwsSolutions', () => {
  it('synthesizes without unacknowledged findings', () => {
    const { app, schedules } = aStack();
    schedules.addPipelineSchedules([NIGHTLY]);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
