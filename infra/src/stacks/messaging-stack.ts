import { ArnFormat, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { BatchJobStateChange, RunFailed, SERVICE_RULES, type RuleDefinition, type ServiceName } from '@nightshift/contracts';
import { BUILT_IN_PIPELINES, type PipelineDefinition } from '@nightshift/jobs-domain';
import type { InfraConfig } from '../config.js';
import { PipelineSchedules } from '../constructs/pipeline-schedules.js';
import { JOB_QUEUE_TIERS, jobQueueName } from '../names.js';

/** Props of {@link MessagingStack}. */
export interface MessagingStackProps extends StackProps {
  /** The deployment's configuration: `prefix` names the bus, queues and group; `retention`, `alarms`. */
  config: InfraConfig;
  /**
   * The pipelines the deployment runs, whose schedules become EventBridge Scheduler schedules
   * (one each). Default: the built-in ones (which declare none); a deployment with pipeline files
   * passes the same pipelines the services load.
   */
  pipelines?: readonly PipelineDefinition[];
}

/** As the embedded bus: a message received this often without being deleted goes to the DLQ. */
const MAX_RECEIVE_COUNT = 5;
/**
 * The consumers extend a message's visibility every half timeout while its handler runs, so this
 * bounds only how soon a crashed consumer's messages come back, not how long a handler may take.
 */
const VISIBILITY_TIMEOUT = Duration.seconds(60);
/** SQS's maximum: the longest time to find and redrive a dead letter. */
const DEAD_LETTER_RETENTION = Duration.days(14);

/**
 * The nightshift bus and everything that routes on it: the archive, one SQS queue (+ DLQ) per
 * service fed by the rules of `SERVICE_RULES` (the embedded bus routes by the same objects), the
 * notifications topic with its two alarm rules, and the pipelines' schedules. The contract's one
 * `aws.batch` rule is created on the account's default bus instead (AWS Batch publishes nowhere
 * else), the same pattern narrowed to this deployment's job queues; it is not also put on the bus.
 *
 * Queues are named `${prefix}-<service>` and `${prefix}-<service>-dlq` because the consumer finds its
 * DLQ by that name. Rules on the bus keep their contract names (names are per bus); rules on the
 * account's default bus carry the prefix so that two deployments in one account do not collide.
 */
export class MessagingStack extends Stack {
  /** The custom bus `${prefix}` (the services' `NIGHTSHIFT_EVENT_BUS`), archived for replay. */
  readonly bus: events.EventBus;
  /** Each service's queue (`NIGHTSHIFT_QUEUE`) and the DLQ its redrive policy and consumer use. */
  readonly queues: Readonly<Record<ServiceName, { queue: sqs.Queue; deadLetters: sqs.Queue }>>;
  /**
   * Operators' notifications (email when `config.alarms.email`). Encrypted with a key of its own
   * because EventBridge and CloudWatch cannot publish to a topic under the AWS-managed `aws/sns` key
   * (its policy cannot grant them); this account's CloudWatch alarms may publish to it.
   */
  readonly topic: sns.Topic;
  /** Scheduled `Run Requested` events: one EventBridge Scheduler schedule per schedule of `props.pipelines`. */
  readonly schedules: PipelineSchedules;
  /**
   * Rules the observability stack alarms on (AWS/Events MatchedEvents): Run Failed on the bus;
   * Batch jobs FAILED in this deployment's job queues. Both also notify the topic directly.
   */
  readonly runFailedRule: events.Rule;
  readonly batchJobFailedRule: events.Rule;

  constructor(scope: Construct, id: string, props: MessagingStackProps) {
    super(scope, id, props);
    const { prefix, retention, alarms } = props.config;

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: prefix });
    // An empty pattern renders as none: every event on the bus, whoever sent it, is archived.
    this.bus.archive('Archive', {
      eventPattern: {},
      retention: Duration.days(retention.archiveDays),
      description: `Every event on ${prefix}, for replay`,
    });

    // AWS Batch reports on the default bus only. This deployment's job queues are known by name
    // (names.ts), not by reference to the compute stack: messaging deploys without it.
    const jobQueueArns = JOB_QUEUE_TIERS.map((tier) =>
      this.formatArn({ service: 'batch', resource: 'job-queue', resourceName: jobQueueName(props.config, tier) }),
    );

    const queues = {} as Record<ServiceName, { queue: sqs.Queue; deadLetters: sqs.Queue }>;
    for (const [service, rules] of Object.entries(SERVICE_RULES) as [ServiceName, readonly RuleDefinition[]][]) {
      queues[service] = this.serviceQueue(prefix, service);
      const target = new targets.SqsQueue(queues[service].queue);
      for (const rule of rules) {
        new events.Rule(this, rule.name, {
          description: rule.description,
          ...(isBatchRule(rule)
            ? { ruleName: `${prefix}-${rule.name}`, eventPattern: toEventPattern(narrowToJobQueues(rule.eventPattern, jobQueueArns)) }
            : { ruleName: rule.name, eventBus: this.bus, eventPattern: toEventPattern(rule.eventPattern) }),
          targets: [target],
        });
      }
    }
    this.queues = queues;

    this.topic = this.notificationsTopic(prefix, alarms.email);
    // One role for both alarm rules: the topic then needs no policy for events.amazonaws.com at large.
    const notify = new iam.Role(this, 'NotificationsRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: `${prefix}: EventBridge rules publishing to the notifications topic`,
    });
    const toTopic = (message: string): targets.SnsTopic =>
      new targets.SnsTopic(this.topic, { authorizeUsingRole: true, role: notify, message: events.RuleTargetInput.fromText(message) });
    const field = (path: string): string => events.EventField.fromPath(path);
    const run = (name: string): string => field(`$.detail.data.${name}`);
    const job = (name: string): string => field(`$.detail.${name}`);

    this.runFailedRule = new events.Rule(this, 'RunFailedNotification', {
      ruleName: 'run-failed-notification',
      description: 'Runs that failed, to the notifications topic.',
      eventBus: this.bus,
      eventPattern: { source: [RunFailed.source], detailType: [RunFailed.detailType] },
      targets: [toTopic(`nightshift run ${run('runId')} of ${run('pipeline')} for ${run('businessDate')} failed: ${run('reason')}`)],
    });
    this.batchJobFailedRule = new events.Rule(this, 'BatchJobFailedNotification', {
      ruleName: `${prefix}-batch-job-failed-notification`,
      description: `AWS Batch jobs that failed in ${prefix}'s job queues, to the notifications topic.`,
      eventPattern: {
        source: [BatchJobStateChange.source],
        detailType: [BatchJobStateChange.detailType],
        detail: { status: ['FAILED'], jobQueue: jobQueueArns },
      },
      targets: [toTopic(`AWS Batch job ${job('jobName')} (${job('jobId')}) in ${job('jobQueue')} failed: ${job('statusReason')}`)],
    });
    // On the policy the two targets' grants just created: the finding's own construct.
    Validations.of(notify.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        "CDK's grant to publish to an encrypted topic: kms:GenerateDataKey* (GenerateDataKey, GenerateDataKeyWithoutPlaintext) " +
        "on the notifications topic's own key only, which SNS needs to encrypt what the role publishes.",
    });

    this.schedules = new PipelineSchedules(this, 'Schedules', { bus: this.bus, groupName: prefix });
    this.schedules.addPipelineSchedules(props.pipelines ?? BUILT_IN_PIPELINES);
  }

  private serviceQueue(prefix: string, service: ServiceName): { queue: sqs.Queue; deadLetters: sqs.Queue } {
    const common = { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true };
    const id = service.charAt(0).toUpperCase() + service.slice(1);
    const deadLetters = new sqs.Queue(this, `${id}DeadLetters`, {
      ...common,
      queueName: `${prefix}-${service}-dlq`,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    const queue = new sqs.Queue(this, `${id}Queue`, {
      ...common,
      queueName: `${prefix}-${service}`,
      visibilityTimeout: VISIBILITY_TIMEOUT,
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    return { queue, deadLetters };
  }

  private notificationsTopic(prefix: string, email: string | undefined): sns.Topic {
    // Nothing durable is encrypted under it (SNS keeps no messages), so it goes with the stack.
    const key = new kms.Key(this, 'NotificationsKey', {
      description: `${prefix}: the notifications topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const topic = new sns.Topic(this, 'Notifications', { topicName: `${prefix}-notifications`, masterKey: key, enforceSSL: true });
    // CloudWatch alarm actions (the observability stack's) publish as the service, not through a role.
    const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsAlarms',
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: {
            'aws:SourceArn': this.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          },
        },
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({ principals: [cloudWatch], actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: ['*'] }),
    );
    if (email) topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }
}

/**
 * The contract's rule for AWS Batch's state changes. AWS services publish on the account's default
 * bus only, so this one rule lives there; any other `aws.*` rule would need its own narrowing.
 */
function isBatchRule(rule: RuleDefinition): boolean {
  const sources = rule.eventPattern['source'];
  if (!Array.isArray(sources) || !sources.some((s) => typeof s === 'string' && s.startsWith('aws.'))) return false;
  if (sources.length === 1 && sources[0] === BatchJobStateChange.source) return true;
  throw new Error(
    `rule ${rule.name} matches AWS service events ${JSON.stringify(sources)}, which arrive on the default bus only: route it there explicitly`,
  );
}

/** The contract's pattern (its status filter included), restricted to this deployment's job queues. */
function narrowToJobQueues(pattern: RuleDefinition['eventPattern'], jobQueueArns: string[]): Record<string, unknown> {
  return { ...pattern, detail: { ...(pattern['detail'] as Record<string, unknown> | undefined), jobQueue: jobQueueArns } };
}

/** A contract pattern as CDK's EventPattern, which spells `detail-type` `detailType` and renders it back. */
function toEventPattern(pattern: Readonly<Record<string, unknown>>): events.EventPattern {
  const { 'detail-type': detailType, ...rest } = pattern;
  return { ...rest, ...(detailType === undefined ? {} : { detailType }) } as events.EventPattern;
}
