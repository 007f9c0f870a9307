import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchJobStateChange, RunFailed, SERVICE_RULES, type RuleDefinition, type ServiceName } from '@nightshift/contracts';
import { BUILT_IN_PIPELINES, definePipeline, noopPipeline } from '@nightshift/jobs-domain';
import { parseInfraConfig } from '../config.js';
import { MessagingStack } from './messaging-stack.js';

const config = parseInfraConfig({
  prefix: 'ns-test',
  env: { account: '111111111111', region: 'eu-west-1' },
  retention: { archiveDays: 21 },
  alarms: { email: 'ops@example.com' },
});
const env = { account: '111111111111', region: 'eu-west-1' };
// Built by hand, not with the stack's helpers: the rule must match the ARNs Batch puts in detail.jobQueue.
const JOB_QUEUE_ARNS = ['high', 'default', 'low'].map((tier) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:batch:eu-west-1:111111111111:job-queue/ns-test-${tier}`]],
}));
const SERVICES = Object.keys(SERVICE_RULES) as ServiceName[];
const ALL_RULES = SERVICES.flatMap((service) => SERVICE_RULES[service].map((rule) => ({ service, rule })));

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('MessagingStack', () => {
  let stack: MessagingStack;
  let template: Template;
  let resources: Record<string, Resource>;
  const id = (construct: { node: { defaultChild?: unknown } }): string => stack.getLogicalId(construct.node.defaultChild as never);
  const arnOf = (queue: sqs.Queue) => ({ 'Fn::GetAtt': [id(queue), 'Arn'] });
  const ruleNamed = (name: string): Resource => {
    const found = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties['Name'] === name);
    expect(found, `rule ${name}`).toHaveLength(1);
    return found[0]!;
  };

  beforeAll(() => {
    stack = new MessagingStack(new App(), 'Messaging', { config, env });
    template = Template.fromStack(stack);
    resources = template.toJSON().Resources;
  });

  describe('the bus', () => {
    it('is named after the prefix and archives every event for archiveDays', () => {
      template.hasResourceProperties('AWS::Events::EventBus', { Name: 'ns-test' });
      template.resourceCountIs('AWS::Events::Archive', 1);
      template.hasResourceProperties('AWS::Events::Archive', {
        SourceArn: { 'Fn::GetAtt': [id(stack.bus), 'Arn'] },
        RetentionDays: 21,
        EventPattern: Match.absent(),
      });
    });
  });

  describe('service queues', () => {
    it.each(SERVICES)('%s: a queue and its <queue>-dlq, SQS-encrypted, redriven after 5 receives', (service) => {
      const { queue, deadLetters } = stack.queues[service];
      expect(resources[id(queue)]!.Properties).toEqual({
        QueueName: `ns-test-${service}`,
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 60,
        RedrivePolicy: { deadLetterTargetArn: arnOf(deadLetters), maxReceiveCount: 5 },
      });
      expect(resources[id(deadLetters)]!.Properties).toEqual({
        QueueName: `ns-test-${service}-dlq`,
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
    });

    it.each(SERVICES)('%s: both queues refuse requests not made over TLS', (service) => {
      for (const queue of Object.values(stack.queues[service])) {
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: id(queue) }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    });
  });

  describe('rules from SERVICE_RULES (one source of truth with the embedded bus)', () => {
    it('are one per contract entry, plus the two notification rules', () => {
      template.resourceCountIs('AWS::Events::Rule', ALL_RULES.length + 2);
    });

    const onTheBus = ALL_RULES.filter(({ rule }) => !isBatch(rule));
    it.each(onTheBus.map(({ service, rule }) => [rule.name, service, rule] as const))(
      '%s: on the bus, its pattern exactly the contract, into the %s queue',
      (name, service, rule) => {
        const resource = ruleNamed(name);
        expect(resource.Properties['EventBusName']).toEqual({ Ref: id(stack.bus) });
        expect(resource.Properties['EventPattern']).toEqual(rule.eventPattern);
        expect(resource.Properties['Description']).toBe(rule.description);
        expect(resource.Properties['Targets']).toEqual([expect.objectContaining({ Arn: arnOf(stack.queues[service].queue) })]);
      },
    );

    it('planner-batch-job-state-change: on the default bus, the contract pattern limited to exactly our three job queues', () => {
      const contract = SERVICE_RULES.planner.find(isBatch)!;
      const resource = ruleNamed(`ns-test-${contract.name}`);
      const pattern = resource.Properties['EventPattern'] as { detail: Record<string, unknown> };
      expect(resource.Properties['EventBusName']).toBeUndefined();
      expect(pattern).toEqual({ ...contract.eventPattern, detail: { ...(contract.eventPattern['detail'] as object), jobQueue: JOB_QUEUE_ARNS } });
      // The embedded bus's status filter, kept: only the states the planner records are queued.
      expect(pattern.detail['status']).toEqual(['RUNNING', 'SUCCEEDED', 'FAILED']);
      expect(resource.Properties['Targets']).toEqual([expect.objectContaining({ Arn: arnOf(stack.queues.planner.queue) })]);
    });

    it.each(SERVICES)('%s: its queue accepts messages only from the rules that target it', (service) => {
      const ruleIds = Object.entries(resources)
        .filter(([, r]) => r.Type === 'AWS::Events::Rule' && SERVICE_RULES[service].some((c) => [c.name, `ns-test-${c.name}`].includes(r.Properties['Name'] as string)))
        .map(([logicalId]) => logicalId);
      expect(ruleIds).toHaveLength(SERVICE_RULES[service].length);
      const allows = Object.values(resources)
        .filter((r) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties['Queues']) === JSON.stringify([{ Ref: id(stack.queues[service].queue) }]))
        .flatMap((r) => (r.Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] }).Statement)
        .filter((statement) => statement['Effect'] === 'Allow');
      expect(allows.map((a) => a['Principal'])).toEqual(ruleIds.map(() => ({ Service: 'events.amazonaws.com' })));
      expect(allows.map((a) => a['Action'])).toEqual(ruleIds.map(() => expect.arrayContaining(['sqs:SendMessage'])));
      expect(allows.map((a) => a['Condition'])).toEqual(
        expect.arrayContaining(ruleIds.map((ruleId) => ({ ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } }))),
      );
    });
  });

  describe('notifications', () => {
    it('go to a topic encrypted with its own rotated key, TLS only, mailed to config.alarms.email', () => {
      template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'ns-test-notifications', KmsMasterKeyId: Match.objectLike({ 'Fn::GetAtt': [Match.anyValue(), 'Arn'] }) });
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: id(stack.topic) } });
    });

    it('Run Failed on the bus is a rule into the topic', () => {
      const resource = resources[id(stack.runFailedRule)]!;
      expect(resource.Properties['EventBusName']).toEqual({ Ref: id(stack.bus) });
      expect(resource.Properties['EventPattern']).toEqual({ source: [RunFailed.source], 'detail-type': [RunFailed.detailType] });
      expect(resource.Properties['Targets']).toEqual([expect.objectContaining({ Arn: { Ref: id(stack.topic) }, RoleArn: expect.anything() })]);
    });

    it('a Batch job FAILED in one of our job queues is a default-bus rule into the topic', () => {
      const resource = resources[id(stack.batchJobFailedRule)]!;
      expect(resource.Properties['EventBusName']).toBeUndefined();
      expect(resource.Properties['EventPattern']).toEqual({
        source: [BatchJobStateChange.source],
        'detail-type': [BatchJobStateChange.detailType],
        detail: { status: ['FAILED'], jobQueue: JOB_QUEUE_ARNS },
      });
      expect(resource.Properties['Targets']).toEqual([expect.objectContaining({ Arn: { Ref: id(stack.topic) }, RoleArn: expect.anything() })]);
    });

    it('are published by a role allowed to publish to that topic only', () => {
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([{ Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: id(stack.topic) } }]),
        },
      });
    });
  });

  it('creates the schedule group, and no schedule while pipelines declare none', () => {
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'ns-test' });
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });
});

describe('MessagingStack with pipelines that declare schedules', () => {
  it('creates one EventBridge Scheduler schedule per schedule, in the group, on the bus', () => {
    const scheduled = definePipeline({
      ...noopPipeline('eod-risk', 1, { trigger: 'positions' }),
      calendar: 'XNYS',
      schedules: [
        { name: 'close', expression: 'cron(30 17 ? * MON-FRI *)', timezone: 'America/New_York', businessDaysOnly: true, businessDate: 'same' },
        { name: 'catch-all', expression: 'cron(0 6 * * ? *)' },
      ],
    });
    const stack = new MessagingStack(new App(), 'Messaging', { config, env, pipelines: [...BUILT_IN_PIPELINES, scheduled] });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Scheduler::Schedule', 2);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'eod-risk.close',
      GroupName: 'ns-test',
      ScheduleExpression: 'cron(30 17 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'America/New_York',
      Target: Match.objectLike({ Arn: stack.resolve(stack.bus.eventBusArn), EventBridgeParameters: { Source: 'nightshift.scheduler', DetailType: 'Run Requested' } }),
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { Name: 'eod-risk.catch-all', ScheduleExpressionTimezone: 'UTC' });
  });
});

describe('MessagingStack under cdk-nag AwsSolutions', () => {
  it('synthesizes without unacknowledged findings', () => {
    const app = new App();
    new MessagingStack(app, 'Messaging', { config: parseInfraConfig({}) });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

function isBatch(rule: RuleDefinition): boolean {
  return (rule.eventPattern['source'] as unknown[]).includes(BatchJobStateChange.source);
}
