import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { BatchComputeEnvironment } from '@nightshift/compute-aws';
import type { DeadLetterQueues, EventPublisher } from '@nightshift/events-domain';
import type { QueueServer } from '@nightshift/events-nest';
import type { BackfillStore, Clock, ComputeEnvironment, IdempotencyKeys, JobLogs, JobStore, PipelineDefinition, ScheduleState } from '@nightshift/jobs-domain';
import { DynamoDbBackfillStore, DynamoDbIdempotencyKeys, DynamoDbJobStore, DynamoDbScheduleState } from '@nightshift/jobs-dynamodb';
import { SqsQueueDepths } from '@nightshift/events-aws';
import { CloudWatchJobLogs } from '@nightshift/logs-aws';
import { DynamoDbDeliveryStore, SnsNotificationChannel } from '@nightshift/notifications-aws';
import { NotificationDispatcher, type NotificationChannel, type Subscription } from '@nightshift/notifications-domain';
import { WebhookChannel } from '@nightshift/notifications-webhook';
import { readTrace } from '@nightshift/observability';
import { bindServicePorts, ConfigError, deployedPipelines, serviceQueueNames, type ServiceRuntime } from '@nightshift/platform';
import type { ObjectStore } from '@nightshift/storage-domain';
import { ApiController } from './api.controller.js';
import { MetaController } from './api/meta.controller.js';
import { MetricsController } from './api/metrics.controller.js';
import { PlatformApi } from './api/platform-api.js';
import { ReportExports } from './api/report-exports.js';
import { ProblemDetailsFilter } from './api/problem.filter.js';
import { UiController } from './api/ui.controller.js';
import { BearerAuthenticator } from './auth/bearer-authenticator.js';
import { loadNotificationSubscriptions, notificationRetryPolicy, type ReportingConfig } from './config.js';
import { NotificationsController } from './api/notifications.controller.js';
import { NotificationHandlers, NotificationLoop } from './notifications.handlers.js';
import { graphqlApi } from './graphql/graphql-api.js';
import { resolveCodeVersion } from './code-version.js';
import { PublishReport, type ReportSection } from './publish-report.js';
import { QueueGauges } from './queue-gauges.js';
import { ReportingHandlers } from './reporting.handlers.js';
import { BACKTEST_SECTION, EXECUTION_SECTION, PERFORMANCE_SECTION, RISK_SECTION, TCA_SECTION } from './sections.js';
import { BACKFILL_STORE, AUTHENTICATOR, CLOCK, DEAD_LETTERS, IDEMPOTENCY_KEYS, COMPUTE, EVENT_PUBLISHER, JOB_LOGS, JOB_STORE, OBJECT_STORE, PIPELINES, REPORT_SECTIONS, SCHEDULE_STATE, NOTIFICATIONS } from './tokens.js';

/** What reporting adds to its runtime. */
export interface ReportingExtras {
  /** Pipelines beyond the built-in ones and `config.pipelinesDir`'s (tests; the embedded host's) that the API describes: the planner's own. */
  extraPipelines?: readonly PipelineDefinition[];
}

/** Reporting composed: its Nest module (REST API + handlers) and the transport that feeds it its queue. */
export interface ComposedReporting {
  module: DynamicModule;
  transport: QueueServer;
}

/** The composition root of reporting: the only place its ports are bound to adapters (by `config.mode`). */
@Module({})
export class ReportingModule {
  static compose(config: ReportingConfig, runtime: ServiceRuntime, extras: ReportingExtras = {}): ComposedReporting {
    // Built-in, then config.pipelinesDir's files, then extras: read first, so a bad file stops the start before anything is bound.
    const pipelines = deployedPipelines(config, extras.extraPipelines);
    // The same for the notification subscriptions: a bad file names its entry and field.
    const subscriptions = loadNotificationSubscriptions(config);
    const ports = bindServicePorts('reporting', config, runtime);
    let compute: ComputeEnvironment;
    let logs: JobLogs;
    let queueGauges: QueueGauges | undefined;
    if (runtime.mode === 'aws') {
      compute = new BatchComputeEnvironment(runtime.aws.batch);
      logs = new CloudWatchJobLogs(runtime.aws.logs, { logGroupName: config.jobLogGroup });
      const depths = new SqsQueueDepths(runtime.aws.sqs, serviceQueueNames('reporting', config.queueName));
      queueGauges = new QueueGauges(() => depths.sample());
    } else if (runtime.compute && runtime.logs) {
      compute = runtime.compute;
      logs = runtime.logs;
    } else {
      throw new Error('reporting: the embedded runtime has no compute environment or job logs');
    }
    // Webhooks anywhere; SNS topics through the process's SNS client (aws mode).
    const channelFor = (s: Subscription): NotificationChannel => {
      if (s.target.kind === 'webhook') return new WebhookChannel({ url: s.target.url, secret: s.target.secret });
      if (runtime.mode !== 'aws') throw new ConfigError(`notification subscription "${s.name}": an SNS topic needs aws mode (NIGHTSHIFT_MODE=aws); use a webhook in the embedded mode`);
      return new SnsNotificationChannel(runtime.aws.sns, s.target.topicArn);
    };
    const notificationLog = new Logger('notifications');
    const notifications = new NotificationDispatcher({
      subscriptions,
      channelFor,
      store: new DynamoDbDeliveryStore(ports.dynamo, { tableName: config.tableName }),
      policy: notificationRetryPolicy(config),
      pollIntervalMs: config.notificationPollMs,
      log: (level, message) => (level === 'info' ? notificationLog.log(message) : level === 'warn' ? notificationLog.warn(message) : notificationLog.error(message)),
    });
    // GraphQL at /graphql: the same PlatformApi and authenticator as REST (see graphql/).
    const graphql = graphqlApi();
    const module: DynamicModule = {
      module: ReportingModule,
      imports: [graphql.module],
      controllers: [ReportingHandlers, NotificationHandlers, NotificationsController, ApiController, MetaController, MetricsController, UiController, ...graphql.controllers],
      providers: [
        { provide: JOB_STORE, useValue: new DynamoDbJobStore(ports.dynamo, { tableName: config.tableName }) satisfies JobStore },
        { provide: IDEMPOTENCY_KEYS, useValue: new DynamoDbIdempotencyKeys(ports.dynamo, { tableName: config.tableName }) satisfies IdempotencyKeys },
        { provide: SCHEDULE_STATE, useValue: new DynamoDbScheduleState(ports.dynamo, { tableName: config.tableName }) satisfies ScheduleState },
        { provide: BACKFILL_STORE, useValue: new DynamoDbBackfillStore(ports.dynamo, { tableName: config.tableName }) satisfies BackfillStore },
        { provide: OBJECT_STORE, useValue: ports.objects },
        { provide: EVENT_PUBLISHER, useValue: ports.publisher },
        { provide: CLOCK, useValue: { now: () => new Date() } satisfies Clock },
        { provide: COMPUTE, useValue: compute },
        { provide: JOB_LOGS, useValue: logs },
        { provide: DEAD_LETTERS, useValue: ports.deadLetters },
        { provide: PIPELINES, useValue: pipelines satisfies PipelineDefinition[] },
        { provide: NOTIFICATIONS, useValue: notifications },
        NotificationLoop,
        // Every HTTP error as RFC 9457 problem details (queue handlers keep their own filter).
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        {
          provide: PlatformApi,
          inject: [JOB_STORE, OBJECT_STORE, EVENT_PUBLISHER, CLOCK, COMPUTE, JOB_LOGS, IDEMPOTENCY_KEYS, PIPELINES, DEAD_LETTERS, SCHEDULE_STATE, BACKFILL_STORE],
          useFactory: (
            store: JobStore,
            objects: ObjectStore,
            publisher: EventPublisher,
            clock: Clock,
            compute: ComputeEnvironment,
            logs: JobLogs,
            idempotencyKeys: IdempotencyKeys,
            pipelines: PipelineDefinition[],
            deadLetters: DeadLetterQueues,
            schedules: ScheduleState,
            backfills: BackfillStore,
          ) =>
            new PlatformApi({
              store,
              objects,
              publisher,
              clock,
              compute,
              logs,
              idempotencyKeys,
              pipelines,
              deadLetters,
              schedules,
              backfills,
              // Spans sent to an OTLP endpoint are that backend's to show; only a trace file can be read back.
              ...(config.traceFile !== undefined && config.otlpEndpoint === undefined ? { traces: { read: (traceId: string) => readTrace(config.traceFile!, traceId) } } : {}),
            }),
        },
        {
          provide: ReportExports,
          inject: [PlatformApi, PIPELINES, OBJECT_STORE],
          useFactory: (api: PlatformApi, pipelines: PipelineDefinition[], objects: ObjectStore) => new ReportExports(api, pipelines, objects),
        },
        // Reads the API keys file at boot: a missing or invalid file stops the start, naming it.
        { provide: AUTHENTICATOR, useFactory: () => BearerAuthenticator.create(config) },
        { provide: REPORT_SECTIONS, useValue: [EXECUTION_SECTION, TCA_SECTION, RISK_SECTION, BACKTEST_SECTION, PERFORMANCE_SECTION] satisfies ReportSection[] },
        {
          provide: PublishReport,
          inject: [JOB_STORE, OBJECT_STORE, EVENT_PUBLISHER, REPORT_SECTIONS, CLOCK],
          useFactory: (store: JobStore, objects: ObjectStore, publisher: EventPublisher, sections: ReportSection[], clock: Clock) =>
            new PublishReport(store, objects, publisher, sections, clock, { pipelines, codeVersion: resolveCodeVersion(config.codeVersion) }),
        },
        ...graphql.providers,
        // aws mode: the service queues' gauges from SQS (the embedded host reports its bus's itself).
        ...(queueGauges ? [{ provide: QueueGauges, useValue: queueGauges }] : []),
      ],
    };
    return { module, transport: ports.transport };
  }
}
