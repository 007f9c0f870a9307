import { Duration, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { HttpCodeElb, HttpCodeTarget } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { CfnRule, Rule } from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import type { ServiceName } from '@nightshift/contracts';
import type { InfraConfig } from '../config.js';
import type { ComputeStack } from './compute-stack.js';
import type { MessagingStack } from './messaging-stack.js';
import type { ServicesStack } from './services-stack.js';

/** What the observability stack watches: the resources of the messaging, compute and services stacks. */
export interface ObservabilityStackProps extends StackProps {
  /** The deployment's configuration: the prefix of alarm and dashboard names, `alarms.oldestMessageAgeSeconds`. */
  readonly config: InfraConfig;
  /** The queues and their DLQs, the notifications topic every alarm goes to, the run-failed and Batch-job-failed rules. */
  readonly messaging: MessagingStack;
  /** The worker's log group (the dashboard's latest worker errors). */
  readonly compute: ComputeStack;
  /** The Fargate services (CPU, memory) and the API's load balancer (requests, latency, 5xx). */
  readonly services: ServicesStack;
}

/** Event counts (matched rules, 5xx) are summed over this period. */
const COUNT_PERIOD = Duration.minutes(5);
/** SQS publishes queue metrics each minute: a message in a DLQ raises its alarm within a minute or two. */
const QUEUE_PERIOD = Duration.minutes(1);
const MAXIMUM = cloudwatch.Stats.MAXIMUM;
const SUM = cloudwatch.Stats.SUM;

/** The metrics alarmed on and graphed, built once so that an alarm and its graph show the same series. */
interface Watched {
  readonly services: readonly ServiceName[];
  readonly visible: (service: ServiceName) => cloudwatch.Metric;
  readonly oldest: (service: ServiceName) => cloudwatch.Metric;
  readonly deadLetters: (service: ServiceName) => cloudwatch.Metric;
  readonly runFailures: cloudwatch.Metric;
  readonly batchFailures: cloudwatch.Metric;
  readonly target5xx: cloudwatch.Metric;
  readonly loadBalancer5xx: cloudwatch.Metric;
}

/** When an alarm's single datapoint (one period) breaches. */
type Breach = { readonly above: number } | { readonly atLeast: number };

/**
 * Alarms (to the messaging stack's topic) and one dashboard. Every alarm treats missing data as
 * not breaching: each watched metric is absent exactly when nothing is wrong (SQS stops publishing
 * for an idle queue, EventBridge publishes MatchedEvents only when a rule matched, the ALB counts
 * 5xx only when there was one). Holds no state: it can be destroyed and redeployed at will.
 */
export class ObservabilityStack extends Stack {
  /** Every alarm of the deployment, each with the notifications topic as its alarm action. */
  readonly alarms: readonly cloudwatch.Alarm[];
  /** `${prefix}`: the alarms, queues, failures, the API and the services at a glance. */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { messaging, services } = props;
    const queues = messaging.queues;
    const alb = services.loadBalancer.metrics;
    const watched: Watched = {
      services: Object.keys(queues) as ServiceName[],
      visible: (s) => queues[s].queue.metricApproximateNumberOfMessagesVisible({ period: QUEUE_PERIOD, statistic: MAXIMUM }),
      oldest: (s) => queues[s].queue.metricApproximateAgeOfOldestMessage({ period: QUEUE_PERIOD, statistic: MAXIMUM }),
      deadLetters: (s) => queues[s].deadLetters.metricApproximateNumberOfMessagesVisible({ period: QUEUE_PERIOD, statistic: MAXIMUM }),
      runFailures: matchedEvents(messaging.runFailedRule),
      batchFailures: matchedEvents(messaging.batchJobFailedRule),
      target5xx: alb.httpCodeTarget(HttpCodeTarget.TARGET_5XX_COUNT, { period: COUNT_PERIOD, statistic: SUM }),
      loadBalancer5xx: alb.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, { period: COUNT_PERIOD, statistic: SUM }),
    };
    this.alarms = this.alarmsOn(watched, props);
    this.dashboard = this.dashboardOf(watched, props);
  }

  private alarmsOn(watched: Watched, { config, messaging }: ObservabilityStackProps): cloudwatch.Alarm[] {
    const { prefix } = config;
    const maxAge = config.alarms.oldestMessageAgeSeconds;
    const notify = new SnsAction(messaging.topic);
    const alarm = (id: string, name: string, description: string, metric: cloudwatch.IMetric, when: Breach): cloudwatch.Alarm => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmName: `${prefix}-${name}`,
        alarmDescription: description,
        metric,
        ...('above' in when
          ? { threshold: when.above, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD }
          : { threshold: when.atLeast, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD }),
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(notify);
      return a;
    };
    return [
      ...watched.services.flatMap((s) => [
        alarm(
          `${pascal(s)}DeadLettersAlarm`,
          `${s}-dead-letters`,
          `Messages in ${s}'s dead-letter queue: events ${s} could not handle (a non-retryable error, or received ` +
            `5 times). Read them, fix the cause, then move them back (docs/deploy.md, "Queues").`,
          watched.deadLetters(s),
          { above: 0 },
        ),
        alarm(
          `${pascal(s)}OldestMessageAlarm`,
          `${s}-oldest-message`,
          `The oldest message in the ${s} queue is older than ${maxAge} s: ${s} is not consuming (tasks down or ` +
            'crashing, or too few for the backlog).',
          watched.oldest(s),
          { above: maxAge },
        ),
      ]),
      alarm('RunFailedAlarm', 'run-failed', 'A run failed (Run Failed on the bus): GET /runs/<id> says which step and why.', watched.runFailures, { atLeast: 1 }),
      alarm(
        'BatchJobFailedAlarm',
        'batch-job-failed',
        "An AWS Batch job in this deployment's job queues FAILED after its attempts: the run's step has the reason, the " +
          "worker's log group the attempt's output.",
        watched.batchFailures,
        { atLeast: 1 },
      ),
      alarm('ApiTarget5xxAlarm', 'api-target-5xx', "The reporting API answered 5xx: its service's log group has the error.", watched.target5xx, { atLeast: 1 }),
      alarm(
        'ApiLoadBalancer5xxAlarm',
        'api-load-balancer-5xx',
        'The API load balancer answered 5xx itself (502/503/504): no healthy reporting task, or a task that reset or timed out.',
        watched.loadBalancer5xx,
        { atLeast: 1 },
      ),
    ];
  }

  private dashboardOf(watched: Watched, { config, compute, services }: ObservabilityStackProps): cloudwatch.Dashboard {
    const alb = services.loadBalancer.metrics;
    const count = { min: 0, showUnits: false };
    const perService = <T>(f: (service: ServiceName) => T): T[] => watched.services.map(f);
    const graph = (title: string, width: number, left: cloudwatch.IMetric[], leftYAxis: cloudwatch.YAxisProps = count): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, width, left, leftYAxis });
    return new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: config.prefix,
      defaultInterval: Duration.hours(24),
      widgets: [
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...this.alarms], width: 24, height: 4 })],
        perService(
          (s) =>
            new cloudwatch.GraphWidget({
              title: `${s} queue`,
              width: 8,
              left: [watched.visible(s).with({ label: 'visible messages' })],
              right: [watched.oldest(s).with({ label: 'oldest message (s)' })],
              leftYAxis: count,
              rightYAxis: count,
            }),
        ),
        [
          graph('Dead-letter queues (messages)', 8, perService((s) => watched.deadLetters(s).with({ label: s }))),
          graph('Failed runs', 8, [watched.runFailures.with({ label: 'Run Failed' })]),
          graph('Failed Batch jobs', 8, [watched.batchFailures.with({ label: 'jobs FAILED' })]),
        ],
        [
          graph('API requests', 8, [alb.requestCount({ period: COUNT_PERIOD, statistic: SUM, label: 'requests' })]),
          graph('API latency (s)', 8, [
            alb.targetResponseTime({ period: COUNT_PERIOD, statistic: cloudwatch.Stats.percentile(50), label: 'p50' }),
            alb.targetResponseTime({ period: COUNT_PERIOD, statistic: cloudwatch.Stats.percentile(99), label: 'p99' }),
          ]),
          graph('API 5xx', 8, [watched.target5xx.with({ label: 'reporting tasks' }), watched.loadBalancer5xx.with({ label: 'load balancer' })]),
        ],
        [
          graph('Services CPU (%)', 12, perService((s) => services.services[s].metricCpuUtilization({ period: QUEUE_PERIOD, label: s })), { ...count, max: 100 }),
          graph('Services memory (%)', 12, perService((s) => services.services[s].metricMemoryUtilization({ period: QUEUE_PERIOD, label: s })), {
            ...count,
            max: 100,
          }),
        ],
        [
          new cloudwatch.LogQueryWidget({
            title: 'Latest worker errors',
            width: 24,
            height: 6,
            logGroupNames: [compute.workerLogGroup.logGroupName],
            queryLines: ['fields @timestamp, @logStream, @message', 'filter @message like /(?i)error/', 'sort @timestamp desc', 'limit 50'],
          }),
        ],
      ],
    });
  }
}

/**
 * AWS/Events MatchedEvents of `rule`, summed. EventBridge publishes it with the RuleName dimension
 * alone for a rule of the default bus, with EventBusName as well for a custom bus's. The rule's
 * name is its physical name when it has one; otherwise its `Ref`, which for a rule of a custom bus
 * is `<bus>|<rule>`, not the name the dimension wants.
 */
function matchedEvents(rule: Rule): cloudwatch.Metric {
  const cfn = rule.node.defaultChild as CfnRule;
  const busName = cfn.eventBusName;
  const onDefaultBus = busName === undefined || busName === 'default';
  const ruleName = cfn.name ?? (onDefaultBus ? rule.ruleName : Fn.select(1, Fn.split('|', rule.ruleName)));
  return new cloudwatch.Metric({
    namespace: 'AWS/Events',
    metricName: 'MatchedEvents',
    dimensionsMap: onDefaultBus ? { RuleName: ruleName } : { EventBusName: busName, RuleName: ruleName },
    period: COUNT_PERIOD,
    statistic: SUM,
  });
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
