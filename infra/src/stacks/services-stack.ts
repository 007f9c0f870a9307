import { Aws, CfnCondition, CfnMapping, CfnResource, Duration, Fn, RemovalPolicy, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { NightshiftSource, type ServiceName } from '@nightshift/contracts';
import type { InfraConfig } from '../config.js';
import { JOB_QUEUE_TIERS, jobQueueName, workerJobDefinitionName } from '../names.js';
import {
  acknowledgeWildcardResources,
  deployableImage,
  ECR_AUTHORIZATION_ACKNOWLEDGEMENT,
  IMAGE_PIPELINES_DIR,
  grantObjectAccess,
  logRetention,
  objectKeyAcknowledgements,
  objectStoreEnvironment,
  type ComputeStack,
  type ObjectAccess,
  type WildcardResourceAcknowledgement,
} from './compute-stack.js';
import type { MessagingStack } from './messaging-stack.js';
import type { StateStack } from './state-stack.js';

/** Props of {@link ServicesStack}. */
export interface ServicesStackProps extends StackProps {
  /** The deployment's configuration: `services` sizes and scales the tasks, `api` shapes the load balancer. */
  config: InfraConfig;
  /** The job-state table and the object store's three buckets. */
  state: StateStack;
  /** The bus the services publish to, and each service's queue and dead-letter queue. */
  messaging: MessagingStack;
  /** The VPC, the job queues and job definition the planner submits to, the worker's log group. */
  compute: ComputeStack;
}

/** The services, in the order of the event flow. */
export const SERVICE_NAMES: readonly ServiceName[] = ['ingestion', 'planner', 'reporting'];

/** The services that load the deployed pipelines (`deployedPipelines`): the planner runs them, reporting describes them. */
export function readsPipelines(name: ServiceName): boolean {
  return name === 'planner' || name === 'reporting';
}

/** Reporting's REST API port (the image's `NIGHTSHIFT_HTTP_PORT`). */
export const API_PORT = 3000;

/** The API load balancer's idle timeout (AWS's default, stated), and reporting's, which must outlast it. */
export const API_IDLE_TIMEOUT = Duration.seconds(60);
export const API_TARGET_IDLE_TIMEOUT = Duration.seconds(65);

/** The ADOT collector sidecar's image, pinned: a new collector is a reviewed change, not a surprise at task start. */
export const ADOT_COLLECTOR_IMAGE = 'public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0';

/** Where the app container sends spans: the sidecar's OTLP/HTTP receiver, in the task's network namespace. */
export const OTLP_ENDPOINT = 'http://127.0.0.1:4318';

/**
 * The collector's whole configuration (`AOT_CONFIG_CONTENT`): OTLP in, on loopback only, batched,
 * out to X-Ray. Nothing else (no EMF metrics, no ECS metrics receiver), so the task role needs the
 * X-Ray write actions and no more.
 */
export const ADOT_CONFIG = [
  'receivers:',
  '  otlp:',
  '    protocols:',
  '      grpc:',
  '        endpoint: 127.0.0.1:4317',
  '      http:',
  '        endpoint: 127.0.0.1:4318',
  'processors:',
  '  batch: {}',
  'exporters:',
  '  awsxray: {}',
  'service:',
  '  pipelines:',
  '    traces:',
  '      receivers: [otlp]',
  '      processors: [batch]',
  '      exporters: [awsxray]',
  '',
].join('\n');

/**
 * What each service reads and writes in the object store (the embedded platform's
 * `EMBEDDED_ACCESS_GRANTS`, services/host, which follow the code). Every service publishes through
 * the claim-check publisher and consumes through the queue server, which write and read
 * `claim-checks/`.
 */
export const SERVICE_OBJECT_ACCESS: Readonly<Record<ServiceName, readonly ObjectAccess[]>> = {
  ingestion: [
    { actions: ['s3:GetObject'], keys: ['landing/*'] },
    { actions: ['s3:PutObject'], keys: ['datasets/*'] },
    { actions: ['s3:GetObject', 's3:PutObject'], keys: ['claim-checks/*'] },
  ],
  planner: [
    { actions: ['s3:GetObject', 's3:PutObject'], keys: ['runs/*/plan.json', 'claim-checks/*'] },
    { actions: ['s3:PutObject'], keys: ['runs/*/manifest.json', 'runs/*/outputs.json'] },
  ],
  reporting: [
    { actions: ['s3:GetObject'], keys: ['runs/*'] },
    { actions: ['s3:GetObject', 's3:PutObject'], keys: ['reports/*', 'claim-checks/*'] },
  ],
};

/** The EventBridge sources each service may publish (the `events:source` condition on PutEvents). */
export const SERVICE_EVENT_SOURCES: Readonly<Record<ServiceName, readonly string[]>> = {
  ingestion: [NightshiftSource.ingestion],
  planner: [NightshiftSource.planner],
  reporting: [NightshiftSource.reporting, NightshiftSource.api],
};

/**
 * The job store's calls (libs/jobs/dynamodb): consistent Get/Query, conditional Put/Update, Delete
 * of an open-run marker, BatchGet and BatchWrite (deletes).
 */
export const JOB_STORE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
] as const;

/** The planner's one Scan: the job store's expiry backfill at start (`backfillExpiry`), once per table. */
export const PLANNER_EXTRA_TABLE_ACTIONS = ['dynamodb:Scan'] as const;

/** Batch reads that take no resource-level permission: granted on `*`, acknowledged for exactly these. */
export const BATCH_READ_ACTIONS = ['batch:DescribeJobs', 'batch:ListJobs'] as const;

/** What the ADOT sidecar's X-Ray exporter calls; X-Ray has no resource-level permissions. */
export const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'] as const;

/**
 * The three services on ECS Fargate in the compute stack's VPC, each with an ADOT collector sidecar
 * and autoscaled on its queue's backlog per task, and reporting's REST API behind an internal
 * Application Load Balancer (ADR 0008). Holds no state but the load balancer's access logs.
 */
export class ServicesStack extends Stack {
  readonly cluster: ecs.Cluster;
  readonly services: Readonly<Record<ServiceName, ecs.FargateService>>;
  /** Internal, reachable from `config.api.allowedCidr` only; HTTPS when `config.api.certificateArn`. */
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** Reporting's tasks on port {@link API_PORT}, health-checked on `/health`. */
  readonly apiTargetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const { config, compute } = props;
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: compute.vpc,
      clusterName: config.prefix,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const services = Object.fromEntries(SERVICE_NAMES.map((name) => [name, this.service(name, props)])) as Record<ServiceName, ecs.FargateService>;
    this.services = services;
    const api = new ReportingApi(this, 'Api', { config, vpc: compute.vpc, service: services.reporting });
    this.loadBalancer = api.loadBalancer;
    this.apiTargetGroup = api.targetGroup;
  }

  /** One service: task definition (app + collector), its role's grants, the Fargate service, its autoscaling. */
  private service(name: ServiceName, props: ServicesStackProps): ecs.FargateService {
    const { config, messaging, compute } = props;
    const id = pascal(name);
    const taskDefinition = new ecs.FargateTaskDefinition(this, `${id}Task`, {
      family: `${config.prefix}-${name}`,
      cpu: config.services.cpu,
      memoryLimitMiB: config.services.memoryMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      logGroupName: `/ecs/${config.prefix}-${name}`,
      retention: logRetention(config.retention.logDays),
    });
    const collector = taskDefinition.addContainer('adot-collector', {
      image: ecs.ContainerImage.fromRegistry(ADOT_COLLECTOR_IMAGE),
      environment: { AOT_CONFIG_CONTENT: ADOT_CONFIG },
      // Losing traces must not stop the service: not essential, and restarted in place if it exits.
      essential: false,
      enableRestartPolicy: true,
      memoryReservationMiB: 64,
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'adot' }),
    });
    const app = taskDefinition.addContainer(name, {
      // The planner and reporting read the deployment's pipeline files, which their images carry.
      image: deployableImage(name, readsPipelines(name) ? { pipelinesDir: config.pipelinesDir } : {}),
      environment: this.environmentOf(name, props),
      essential: true,
      // docs/deploy.md: an init process forwards SIGTERM, and 30 s lets the handlers under way finish.
      linuxParameters: new ecs.LinuxParameters(this, `${id}Linux`, { initProcessEnabled: true }),
      stopTimeout: Duration.seconds(30),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: name }),
      portMappings: name === 'reporting' ? [{ containerPort: API_PORT, protocol: ecs.Protocol.TCP }] : [],
    });
    app.addContainerDependencies({ container: collector, condition: ecs.ContainerDependencyCondition.START });

    this.grant(name, taskDefinition.taskRole, props);
    acknowledgeWildcardResources(taskDefinition.executionRole ?? taskDefinition, [ECR_AUTHORIZATION_ACKNOWLEDGEMENT]);
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds only names and addresses (table, buckets, bus, queue, job queues, the local collector endpoint, the ' +
        "collector's configuration, reporting's public JWKS URL and expected issuer and audience), none of them secret; they change " +
        'with the deployment that sets them, never at run time.',
    });

    if (name === 'reporting' && props.config.api.jwksUrl === undefined) {
      // services/reporting refuses to serve its API unauthenticated (config.ts) and exits 2.
      Validations.of(taskDefinition).addWarning(
        'nightshift:ApiWithoutAuthentication',
        'reporting starts only with a way to verify bearer tokens, and the deployment configuration has no api.jwksUrl: its tasks ' +
          'exit 2 at boot and the service never becomes healthy until one is set.',
      );
    }

    const securityGroup = new ec2.SecurityGroup(this, `${id}Tasks`, {
      vpc: compute.vpc,
      description: `nightshift ${name} tasks: ${name === 'reporting' ? 'the API port from the load balancer only' : 'no inbound'}; out to AWS APIs`,
      allowAllOutbound: true,
    });
    const service = new ecs.FargateService(this, `${id}Service`, {
      cluster: this.cluster,
      serviceName: `${config.prefix}-${name}`,
      taskDefinition,
      vpcSubnets: { subnets: privateSubnetsOf(compute.vpc) },
      securityGroups: [securityGroup],
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
    });
    this.autoscale(name, service, messaging.queues[name].queue.queueName, config);
    return service;
  }

  /** The environment docs/deploy.md gives each service (the code's config schemas read exactly these). */
  private environmentOf(name: ServiceName, props: ServicesStackProps): Record<string, string> {
    const { config, state, messaging, compute } = props;
    const common: Record<string, string> = {
      NIGHTSHIFT_MODE: 'aws',
      NIGHTSHIFT_TABLE: state.table.tableName,
      ...objectStoreEnvironment(state),
      NIGHTSHIFT_EVENT_BUS: messaging.bus.eventBusName,
      NIGHTSHIFT_QUEUE: messaging.queues[name].queue.queueName,
      OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_ENDPOINT,
      // Where the image holds the pipeline files the synth read (config.pipelinesDir), for the services that read them.
      ...(readsPipelines(name) && config.pipelinesDir !== undefined ? { NIGHTSHIFT_PIPELINES_DIR: IMAGE_PIPELINES_DIR } : {}),
    };
    switch (name) {
      case 'ingestion':
        return common;
      case 'planner':
        return {
          ...common,
          // The names.ts names the compute stack gives its queues (a literal reads better than an ARN split at deploy time).
          NIGHTSHIFT_JOB_QUEUE: jobQueueName(config, 'default'),
          NIGHTSHIFT_JOB_DEFINITION: workerJobDefinitionName(config),
          // Every job queue has the fair-share policy: a job submitted to one without a share identifier is refused.
          NIGHTSHIFT_FAIR_SHARE_QUEUES: JOB_QUEUE_TIERS.map((tier) => jobQueueName(config, tier)).join(','),
        };
      case 'reporting':
        return {
          ...common,
          NIGHTSHIFT_HTTP_PORT: String(API_PORT),
          // Longer than the load balancer's idle timeout: a target that drops a keep-alive connection the ALB still
          // means to reuse answers 502. The ALB itself holds slow clients to its own idle timeout.
          NIGHTSHIFT_HTTP_IDLE_TIMEOUT_MS: String(API_TARGET_IDLE_TIMEOUT.toMilliseconds()),
          NIGHTSHIFT_JOB_LOG_GROUP: compute.workerLogGroup.logGroupName,
          ...(config.api.jwksUrl ? { NIGHTSHIFT_JWKS_URL: config.api.jwksUrl } : {}),
          ...(config.api.jwtIssuer ? { NIGHTSHIFT_JWT_ISSUER: config.api.jwtIssuer } : {}),
          ...(config.api.jwtAudience ? { NIGHTSHIFT_JWT_AUDIENCE: config.api.jwtAudience } : {}),
        };
    }
  }

  /** The task role of `name`: exactly what its adapters call, each grant scoped to our resources. */
  private grant(name: ServiceName, role: iam.IRole, props: ServicesStackProps): void {
    const { config, state, messaging, compute } = props;
    const { queue, deadLetters } = messaging.queues[name];
    queue.grantConsumeMessages(role);
    // The consumer moves a message that failed for good to the DLQ itself (SendMessage, then DeleteMessage).
    deadLetters.grantSendMessages(role);
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['events:PutEvents'],
      resourceArns: [messaging.bus.eventBusArn],
      conditions: { StringEquals: { 'events:source': [...SERVICE_EVENT_SOURCES[name]] } },
    });
    state.table.grants.actions(role, ...JOB_STORE_ACTIONS, ...(name === 'planner' ? PLANNER_EXTRA_TABLE_ACTIONS : []));
    // docs/deploy.md: with a customer-managed key, Decrypt and GenerateDataKey on it (none today: AWS-owned).
    state.table.encryptionKey?.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey');
    grantObjectAccess(state, role, SERVICE_OBJECT_ACCESS[name]);
    // Actions that support no resource-level permission: granted on `*`, and acknowledged for these actions only.
    const unscoped: string[] = [...XRAY_ACTIONS, ...(name === 'ingestion' ? [] : BATCH_READ_ACTIONS)];
    iam.Grant.addToPrincipal({ grantee: role, actions: unscoped, resourceArns: ['*'] });
    const acknowledgements: WildcardResourceAcknowledgement[] = [
      ...objectKeyAcknowledgements(SERVICE_OBJECT_ACCESS[name]),
      {
        matches: (r) => r === '*',
        actions: unscoped,
        reason: `${unscoped.join(', ')} support no resource-level permissions (X-Ray: the ADOT sidecar's exporter; Batch: reading job status).`,
      },
    ];
    if (name === 'planner') {
      // The worker's (analytic steps) and each command step's (commandJobDefinitionName), by name.
      const jobDefinitions = [workerJobDefinitionName(config), ...compute.commandJobDefinitions.definitions.keys()].map((definition) =>
        this.formatArn({ service: 'batch', resource: 'job-definition', resourceName: definition }),
      );
      // SubmitJob names the job definition without a revision (the latest): both ARN forms, so that a
      // new revision registered by a deploy of the compute stack is allowed before this stack's update.
      iam.Grant.addToPrincipal({
        grantee: role,
        actions: ['batch:SubmitJob'],
        resourceArns: [...JOB_QUEUE_TIERS.map((tier) => compute.jobQueues[tier].jobQueueArn), ...jobDefinitions.flatMap((arn) => [arn, `${arn}:*`])],
      });
      // Job ARNs carry no queue: a job is known only after SubmitJob. TagResource is SubmitJob's `tags`.
      const jobs = this.formatArn({ service: 'batch', resource: 'job', resourceName: '*' });
      const jobActions = ['batch:TagResource', 'batch:TerminateJob', 'batch:CancelJob'];
      iam.Grant.addToPrincipal({ grantee: role, actions: jobActions, resourceArns: [jobs] });
      acknowledgements.push(
        {
          matches: (r) => r.endsWith(`:job-definition/${workerJobDefinitionName(config)}:*`),
          actions: ['batch:SubmitJob'],
          reason: "Every revision of the worker's job definition: the planner submits it by name, that is its latest revision.",
        },
        ...[...compute.commandJobDefinitions.definitions.keys()].map((definition) => ({
          matches: (r: string) => r.endsWith(`:job-definition/${definition}:*`),
          actions: ['batch:SubmitJob'],
          reason: `Every revision of the job definition of a command step (${definition}): the planner submits it by name, that is its latest revision.`,
        })),
        {
          matches: (r) => r.endsWith(':job/*'),
          actions: jobActions,
          reason:
            'Batch job ARNs name neither queue nor definition, and a job exists only once submitted: ' +
            'jobs of this account and region are the narrowest resource.',
        },
      );
    }
    if (name === 'reporting') {
      compute.workerLogGroup.grant(role, 'logs:GetLogEvents');
      // GET /dlq and POST /dlq/:queue/redrive (SqsDeadLetterQueues): read every service's DLQ, move its messages back to the source queue.
      for (const service of Object.values(messaging.queues)) {
        service.deadLetters.grantConsumeMessages(role);
        service.queue.grantSendMessages(role);
      }
    }
    acknowledgeWildcardResources(role, acknowledgements);
  }

  /**
   * Target tracking on the queue's backlog per task: visible messages divided by running tasks,
   * held at `config.services.backlogPerTask`, between `minTasks` and `maxTasks`. Metric math
   * (RunningTaskCount from Container Insights) is what makes it per task.
   */
  private autoscale(name: ServiceName, service: ecs.FargateService, queueName: string, config: InfraConfig): void {
    const id = pascal(name);
    const target = new appscaling.ScalableTarget(this, `${id}Scaling`, {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${this.cluster.clusterName}/${service.serviceName}`,
      minCapacity: config.services.minTasks,
      maxCapacity: Math.max(config.services.maxTasks, config.services.minTasks),
      // ECS scaling acts through Application Auto Scaling's service-linked role, as `autoScaleTaskCount` does.
      role: iam.Role.fromRoleArn(
        this,
        `${id}ScalingRole`,
        this.formatArn({
          service: 'iam',
          region: '',
          resource: 'role/aws-service-role/ecs.application-autoscaling.amazonaws.com',
          resourceName: 'AWSServiceRoleForApplicationAutoScaling_ECSService',
        }),
      ),
    });
    target.node.addDependency(service);
    new appscaling.CfnScalingPolicy(this, `${id}BacklogPerTask`, {
      policyName: `${config.prefix}-${name}-backlog-per-task`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: target.scalableTargetId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: config.services.backlogPerTask,
        scaleOutCooldown: 60,
        scaleInCooldown: 300,
        customizedMetricSpecification: {
          metrics: [
            {
              id: 'visible',
              metricStat: {
                metric: {
                  namespace: 'AWS/SQS',
                  metricName: 'ApproximateNumberOfMessagesVisible',
                  dimensions: [{ name: 'QueueName', value: queueName }],
                },
                stat: 'Sum',
              },
              returnData: false,
            },
            {
              id: 'tasks',
              metricStat: {
                metric: {
                  namespace: 'ECS/ContainerInsights',
                  metricName: 'RunningTaskCount',
                  dimensions: [
                    { name: 'ClusterName', value: this.cluster.clusterName },
                    { name: 'ServiceName', value: service.serviceName },
                  ],
                },
                stat: 'Average',
              },
              returnData: false,
            },
            { id: 'backlogPerTask', expression: 'visible / tasks', label: `${name} messages visible per running task`, returnData: true },
          ],
        },
      },
    });
  }
}

/** Props of {@link ReportingApi}. */
export interface ReportingApiProps {
  /** `api.certificateArn` (HTTPS, else HTTP), `api.allowedCidr`, and `retention.logDays` for the access logs. */
  readonly config: InfraConfig;
  readonly vpc: ec2.IVpc;
  /** Reporting's service, registered by IP on {@link API_PORT}. */
  readonly service: ecs.FargateService;
}

/**
 * Reporting's REST API (ADR 0008): an internal Application Load Balancer, reachable from
 * `api.allowedCidr` only, HTTPS with the configured certificate (plain HTTP, with a synth warning,
 * without one), access-logged to a bucket of its own, forwarding to reporting's tasks, health-checked
 * on `/health`.
 */
export class ReportingApi extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The access logs' bucket: retained (it is evidence), expiring objects after `retention.logDays`. */
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: ReportingApiProps) {
    super(scope, id);
    const { config, vpc, service } = props;
    const { certificateArn, allowedCidr } = config.api;
    const https = certificateArn !== undefined;
    const port = https ? 443 : 80;
    const securityGroup = new ec2.SecurityGroup(this, 'LoadBalancerGroup', {
      vpc,
      description: `nightshift API load balancer: ${https ? 'HTTPS' : 'HTTP'} from ${allowedCidr} only; out to the reporting tasks`,
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(ec2.Peer.ipv4(allowedCidr), ec2.Port.tcp(port), `nightshift API clients (${allowedCidr})`);
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: false,
      vpcSubnets: { subnets: privateSubnetsOf(vpc) },
      securityGroup,
      dropInvalidHeaderFields: true,
      idleTimeout: API_IDLE_TIMEOUT,
    });
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // ALB log delivery writes SSE-S3 objects only.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(config.retention.logDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: "This bucket receives the API load balancer's access logs; server access logs of a log bucket would only log the log deliveries.",
    });
    this.logAccessLogs('api');

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: API_PORT,
      // docs/deploy.md: ECS waits this long after deregistering a task before SIGTERM; 300 s is the default.
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        path: '/health',
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });
    service.attachToApplicationTargetGroup(this.targetGroup);

    // `open: false`: the listener adds no 0.0.0.0/0 rule; the group above admits allowedCidr only.
    const listener = https
      ? this.loadBalancer.addListener('Https', {
          protocol: elbv2.ApplicationProtocol.HTTPS,
          port,
          open: false,
          certificates: [elbv2.ListenerCertificate.fromArn(certificateArn)],
          sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
          defaultTargetGroups: [this.targetGroup],
        })
      : this.loadBalancer.addListener('Http', {
          protocol: elbv2.ApplicationProtocol.HTTP,
          port,
          open: false,
          defaultTargetGroups: [this.targetGroup],
        });
    if (!https) {
      // No AwsSolutions rule flags a plain-HTTP ALB listener, so there is no finding to acknowledge:
      // the synth says it instead, on every synth of such an environment.
      Validations.of(listener).addWarning(
        'nightshift:ApiWithoutTls',
        `The API listens on plain HTTP (no api.certificateArn): bearer tokens and API keys cross the network from ${allowedCidr} ` +
          'unencrypted. Meant for environments without a certificate (development, a private network trusted end to end); ' +
          'set api.certificateArn elsewhere.',
      );
    }
  }

  /**
   * The load balancer's access logs under `prefix/`. Who delivers them depends on the region: the
   * regional ELB account in regions older than August 2022, the log delivery service principal in
   * newer ones. CDK's `logAccessLogs` needs the region known at synth; for an environment-agnostic
   * stack the bucket policy chooses at deploy time, from a mapping of every region CDK knows.
   */
  private logAccessLogs(prefix: string): void {
    const stack = Stack.of(this);
    if (!Token.isUnresolved(stack.region)) {
      this.loadBalancer.logAccessLogs(this.accessLogs, prefix);
      return;
    }
    const mapping = new CfnMapping(stack, 'ElbLogDelivery', {
      mapping: Object.fromEntries(RegionInfo.regions.map((r) => [r.name, { account: r.elbv2Account ?? NO_ELB_ACCOUNT }])),
    });
    const account = mapping.findInMap(Aws.REGION, 'account');
    const byAccount = new CfnCondition(stack, 'ElbLogDeliveryByAccount', {
      expression: Fn.conditionNot(Fn.conditionEquals(account, NO_ELB_ACCOUNT)),
    });
    const principal = new iam.CompositePrincipal(
      new iam.ArnPrincipal(Fn.conditionIf(byAccount.logicalId, `arn:${Aws.PARTITION}:iam::${account}:root`, Aws.NO_VALUE).toString()),
      new iam.ServicePrincipal(Fn.conditionIf(byAccount.logicalId, Aws.NO_VALUE, 'logdelivery.elasticloadbalancing.amazonaws.com').toString()),
    );
    this.accessLogs.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        principals: [principal],
        resources: [this.accessLogs.arnForObjects(`${prefix}/AWSLogs/${stack.account}/*`)],
      }),
    );
    this.loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
    this.loadBalancer.setAttribute('access_logs.s3.bucket', this.accessLogs.bucketName);
    this.loadBalancer.setAttribute('access_logs.s3.prefix', prefix);
    // The ALB checks that it may write when the attribute is set: the policy must exist first.
    const policy = this.accessLogs.policy?.node.defaultChild;
    if (policy instanceof CfnResource) (this.loadBalancer.node.defaultChild as CfnResource).addResourceDependency(policy);
  }
}

/** The mapping's value for regions whose ALBs deliver logs as a service principal. */
const NO_ELB_ACCOUNT = 'none';

/** The VPC's private subnets: with egress when there are NAT gateways, isolated when there are none. */
function privateSubnetsOf(vpc: ec2.IVpc): ec2.ISubnet[] {
  return vpc.privateSubnets.length > 0 ? vpc.privateSubnets : vpc.isolatedSubnets;
}

function pascal(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
