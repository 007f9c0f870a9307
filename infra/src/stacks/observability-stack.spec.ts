import { App, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnRule } from 'aws-cdk-lib/aws-events';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ServiceName } from '@nightshift/contracts';
import { addNightshiftStacks, type NightshiftStacks } from '../app.js';
import { parseInfraConfig } from '../config.js';

const SERVICES: readonly ServiceName[] = ['ingestion', 'planner', 'reporting'];

interface AlarmProperties {
  AlarmName: string;
  MetricName: string;
  Namespace: string;
  Dimensions: { Name: string; Value: unknown }[];
  Threshold: number;
  ComparisonOperator: string;
  TreatMissingData: string;
  AlarmActions: unknown[];
  Statistic: string;
}

/**
 * The value `token` of `producer` (a queue name, a topic ARN) as a template of another stack sees
 * it: the import of the producer's export of it, or the value itself where CDK could use it directly.
 */
function asImported(producer: Stack, token: string): unknown {
  const value = producer.resolve(token) as unknown;
  if (typeof value === 'string') return value;
  const outputs = Template.fromStack(producer).toJSON()['Outputs'] as Record<string, { Value: unknown; Export?: { Name: string } }>;
  const output = Object.values(outputs).find((o) => JSON.stringify(o.Value) === JSON.stringify(value));
  if (!output?.Export) throw new Error(`${producer.stackName} exports no ${JSON.stringify(value)}`);
  return { 'Fn::ImportValue': output.Export.Name };
}

describe('ObservabilityStack', () => {
  let stacks: NightshiftStacks;
  let template: Template;
  let alarms: AlarmProperties[];
  let dashboardBody: string;

  beforeAll(() => {
    const app = new App();
    stacks = addNightshiftStacks(app, parseInfraConfig({ prefix: 'ns-test', alarms: { oldestMessageAgeSeconds: 600 } }));
    template = Template.fromStack(stacks.observability);
    alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r) => r['Properties'] as AlarmProperties);
    const body = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!['Properties']['DashboardBody'] as unknown;
    dashboardBody = JSON.stringify(body);
  });

  const alarmNamed = (name: string): AlarmProperties => {
    const found = alarms.find((a) => a.AlarmName === name);
    if (!found) throw new Error(`no alarm ${name}; alarms: ${alarms.map((a) => a.AlarmName).join(', ')}`);
    return found;
  };
  const dimension = (alarm: AlarmProperties, name: string): unknown => alarm.Dimensions.find((d) => d.Name === name)?.Value;

  it('holds alarms and the dashboard only: nothing to lose on a redeploy', () => {
    const types = new Set(Object.values(template.toJSON()['Resources'] as Record<string, { Type: string }>).map((r) => r.Type));
    expect([...types].sort()).toEqual(['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::Dashboard']);
    expect(stacks.observability.alarms).toHaveLength(alarms.length);
  });

  it('sends every alarm to the notifications topic and treats missing data as healthy', () => {
    const topic = asImported(stacks.messaging, stacks.messaging.topic.topicArn);
    expect(alarms).toHaveLength(SERVICES.length * 2 + 4);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions, alarm.AlarmName).toEqual([topic]);
      expect(alarm.TreatMissingData, alarm.AlarmName).toBe('notBreaching');
    }
  });

  it.each(SERVICES)('alarms on any message in the dead-letter queue of %s', (service) => {
    const alarm = alarmNamed(`ns-test-${service}-dead-letters`);
    expect(alarm).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum' });
    expect(alarm).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(dimension(alarm, 'QueueName')).toEqual(asImported(stacks.messaging, stacks.messaging.queues[service].deadLetters.queueName));
  });

  it.each(SERVICES)('alarms when the oldest message of %s is older than the configured age', (service) => {
    const alarm = alarmNamed(`ns-test-${service}-oldest-message`);
    expect(alarm).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Statistic: 'Maximum' });
    expect(alarm).toMatchObject({ Threshold: 600, ComparisonOperator: 'GreaterThanThreshold' });
    expect(dimension(alarm, 'QueueName')).toEqual(asImported(stacks.messaging, stacks.messaging.queues[service].queue.queueName));
  });

  it('alarms on a failed run: MatchedEvents of the run-failed rule, on the custom bus, by its name', () => {
    const alarm = alarmNamed('ns-test-run-failed');
    expect(alarm).toMatchObject({ Namespace: 'AWS/Events', MetricName: 'MatchedEvents', Statistic: 'Sum' });
    expect(alarm).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    // A custom bus's rule publishes with both dimensions; the rule's Ref would be "<bus>|<rule>", not its name.
    expect(dimension(alarm, 'EventBusName')).toEqual(asImported(stacks.messaging, stacks.messaging.bus.eventBusName));
    const rule = stacks.messaging.runFailedRule.node.defaultChild as CfnRule;
    const ruleName = Template.fromStack(stacks.messaging).toJSON()['Resources'][stacks.messaging.getLogicalId(rule)]['Properties']['Name'];
    expect(typeof ruleName).toBe('string');
    expect(dimension(alarm, 'RuleName')).toBe(ruleName);
  });

  it('alarms on a failed Batch job: MatchedEvents of the Batch rule, on the default bus (RuleName alone)', () => {
    const alarm = alarmNamed('ns-test-batch-job-failed');
    expect(alarm).toMatchObject({ Namespace: 'AWS/Events', MetricName: 'MatchedEvents', Statistic: 'Sum' });
    expect(alarm).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(alarm.Dimensions.map((d) => d.Name)).toEqual(['RuleName']);
    expect(dimension(alarm, 'RuleName')).toBe('ns-test-batch-job-failed-notification');
  });

  it('alarms on 5xx answered by the API tasks and by the load balancer itself', () => {
    const loadBalancer = asImported(stacks.services, stacks.services.loadBalancer.loadBalancerFullName);
    for (const [name, metric] of [
      ['ns-test-api-target-5xx', 'HTTPCode_Target_5XX_Count'],
      ['ns-test-api-load-balancer-5xx', 'HTTPCode_ELB_5XX_Count'],
    ] as const) {
      const alarm = alarmNamed(name);
      expect(alarm).toMatchObject({ Namespace: 'AWS/ApplicationELB', MetricName: metric, Statistic: 'Sum', Threshold: 1 });
      expect(dimension(alarm, 'LoadBalancer')).toEqual(loadBalancer);
    }
  });

  it('has a dashboard of queues, dead letters, failures, the API and each service', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'ns-test', DashboardBody: Match.anyValue() });
    const titles = ['Alarms', 'Dead-letter queues', 'Failed runs', 'Failed Batch jobs', 'API requests', 'API latency', 'API 5xx', 'Services CPU', 'Services memory'];
    for (const title of titles) expect(dashboardBody).toContain(title);
    for (const service of SERVICES) expect(dashboardBody).toContain(`${service} queue`);
    const metrics = ['ApproximateAgeOfOldestMessage', 'RequestCount', 'TargetResponseTime', 'HTTPCode_ELB_5XX_Count', 'CPUUtilization', 'MemoryUtilization'];
    for (const metric of metrics) expect(dashboardBody).toContain(metric);
    // One CPU and one memory line per service.
    expect(dashboardBody.split('CPUUtilization').length - 1).toBe(SERVICES.length);
    expect(dashboardBody.split('MemoryUtilization').length - 1).toBe(SERVICES.length);
  });
});
