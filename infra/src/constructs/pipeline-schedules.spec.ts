import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunRequested, SERVICE_RULES } from '@nightshift/contracts';
import { InfraConfigError } from '../config.js';
import { PipelineSchedules } from './pipeline-schedules.js';

const NIGHTLY = {
  name: 'nightly-tca',
  expression: 'cron(30 6 ? * MON-FRI *)',
  timezone: 'Europe/London',
  pipeline: 'nightly-tca',
  detail: { businessDate: '2026-01-02' },
};

function aStack(): { app: App; stack: Stack; bus: events.EventBus; schedules: PipelineSchedules } {
  const app = new App();
  const stack = new Stack(app, 'Schedules');
  const bus = new events.EventBus(stack, 'Bus', { eventBusName: 'ns-test' });
  return { app, stack, bus, schedules: new PipelineSchedules(stack, 'Schedules', { bus, groupName: 'ns-test' }) };
}

describe('PipelineSchedules with one schedule', () => {
  let template: Template;
  let busArn: unknown;
  let groupId: string;
  let roleArn: unknown;

  beforeAll(() => {
    const { stack, bus, schedules } = aStack();
    schedules.addSchedule(NIGHTLY);
    template = Template.fromStack(stack);
    busArn = stack.resolve(bus.eventBusArn);
    groupId = stack.getLogicalId(schedules.group.node.defaultChild as never);
    roleArn = stack.resolve(schedules.role.roleArn);
  });

  it('creates the group named after the prefix, and the schedule in it, at fixed times in its time zone', () => {
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'ns-test' });
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.hasResource('AWS::Scheduler::Schedule', {
      DependsOn: Match.arrayWith([groupId]),
      Properties: Match.objectLike({
        Name: 'nightly-tca',
        GroupName: 'ns-test',
        ScheduleExpression: 'cron(30 6 ? * MON-FRI *)',
        ScheduleExpressionTimezone: 'Europe/London',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
      }),
    });
  });

  it('puts Run Requested from nightshift.scheduler on the bus, through its own role', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: Match.objectLike({ Arn: busArn, RoleArn: roleArn, EventBridgeParameters: { Source: 'nightshift.scheduler', DetailType: RunRequested.detailType } }),
    });
  });

  it("sends a detail the Run Requested contract accepts once Scheduler fills in its context attributes, and the planner's rule matches", () => {
    const schedule = Object.values(template.findResources('AWS::Scheduler::Schedule'))[0]!;
    const input = (schedule.Properties.Target.Input as string)
      .replaceAll('<aws.scheduler.execution-id>', 'd32c5kddcf5bb8c3')
      .replaceAll('<aws.scheduler.scheduled-time>', '2026-01-02T06:30:00Z')
      .replaceAll('<aws.scheduler.schedule-arn>', 'arn:aws:scheduler:eu-west-1:111111111111:schedule/ns-test/nightly-tca');
    expect(RunRequested.detail.parse(JSON.parse(input))).toEqual({
      metadata: { eventId: 'd32c5kddcf5bb8c3', correlationId: 'd32c5kddcf5bb8c3', occurredAt: '2026-01-02T06:30:00Z' },
      data: { pipeline: 'nightly-tca', businessDate: '2026-01-02', requestedBy: 'arn:aws:scheduler:eu-west-1:111111111111:schedule/ns-test/nightly-tca' },
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

describe('PipelineSchedules.addSchedule refuses', () => {
  it('an expression that is neither cron(…) nor rate(…)', () => {
    const { schedules } = aStack();
    expect(() => schedules.addSchedule({ ...NIGHTLY, expression: '30 6 * * *' })).toThrow(InfraConfigError);
  });

  it('a request the Run Requested contract would reject, naming the field', () => {
    const { schedules } = aStack();
    expect(() => schedules.addSchedule({ ...NIGHTLY, pipeline: 'Nightly TCA' })).toThrow(/pipeline/);
    expect(() => schedules.addSchedule({ ...NIGHTLY, detail: { businessDate: '2026-02-30' } })).toThrow(/businessDate/);
  });
});

describe('PipelineSchedules under cdk-nag AwsSolutions', () => {
  it('synthesizes without unacknowledged findings', () => {
    const { app, schedules } = aStack();
    schedules.addSchedule(NIGHTLY);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
