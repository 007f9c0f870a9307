import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, IgnoreStrategy, Size, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { DockerImageAsset, type DockerImageAssetProps, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct, IConstruct } from 'constructs';
import { BUILT_IN_PIPELINES, WORKER_EXIT_RULES, type PipelineDefinition } from '@nightshift/jobs-domain';
import { S3_BUCKET_PREFIXES } from '@nightshift/storage-aws';
import { InfraConfigError, type InfraConfig } from '../config.js';
import { CommandJobDefinitions } from '../constructs/command-job-definitions.js';
import { JOB_QUEUE_PRIORITY, JOB_QUEUE_TIERS, jobQueueName, workerJobDefinitionName, type JobQueueTier } from '../names.js';
import type { StateStack } from './state-stack.js';

/** Props of {@link ComputeStack}. */
export interface ComputeStackProps extends StackProps {
  /** The deployment's configuration: `network`, `compute`, `worker` and `retention.logDays` shape this stack. */
  config: InfraConfig;
  /** Where the worker's object store lives ({@link objectStoreEnvironment}). */
  state: StateStack;
  /**
   * The pipelines the deployment runs: each `command` step gets a job definition of its own
   * ({@link CommandJobDefinitions}). Default: the built-in ones (which have none); a deployment with
   * pipeline files passes the same pipelines the messaging stack schedules.
   */
  pipelines?: readonly PipelineDefinition[];
}

/**
 * The repository root: the build context of the root Dockerfile, whose targets are the four
 * deployables' images. Three levels up from both `src/stacks/` and `dist/stacks/` of infra/.
 */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The image of one deployable: the root Dockerfile's `target` stage, built as a CDK asset (the
 * repository's .dockerignore keeps node_modules, dist/ and cdk.out out of the context). Synth only
 * stages the context; Docker runs at `cdk deploy`. x86_64, as the default instance types
 * (c7i/m7i/r7i) and the Fargate task definitions are.
 */
export function deployableImage(target: Deployable, options: DeployableImageOptions = {}): ecs.ContainerImage {
  return ecs.ContainerImage.fromAsset(REPOSITORY_ROOT, deployableImageProps(target, options));
}

/**
 * The same image as one asset, for a stack that runs it in several containers: the context is
 * fingerprinted and the image built once, where each {@link deployableImage} is an asset of its own.
 */
export function deployableImageAsset(scope: Construct, id: string, target: Deployable, options: DeployableImageOptions = {}): DockerImageAsset {
  return new DockerImageAsset(scope, id, { directory: REPOSITORY_ROOT, ...deployableImageProps(target, options) });
}

/** The root Dockerfile's build targets. */
export type Deployable = 'ingestion' | 'planner' | 'reporting' | 'worker';

/** What an image is built with beyond its target. */
export interface DeployableImageOptions {
  /**
   * The pipeline files to copy into the image at {@link IMAGE_PIPELINES_DIR} (the `config.pipelinesDir`
   * the synth read): a directory inside the repository, since the repository is the build context.
   */
  pipelinesDir?: string;
}

/**
 * Where the planner and reporting images hold the deployment's pipeline files (the Dockerfile's
 * `pipelines` stage copies them there); their `NIGHTSHIFT_PIPELINES_DIR` when `config.pipelinesDir` is set.
 */
export const IMAGE_PIPELINES_DIR = '/app/pipelines';

function deployableImageProps(target: Deployable, { pipelinesDir }: DeployableImageOptions): Omit<DockerImageAssetProps, 'directory'> {
  return {
    target,
    platform: Platform.LINUX_AMD64,
    ...(pipelinesDir === undefined ? {} : { buildArgs: { NIGHTSHIFT_PIPELINES_SOURCE: pipelinesSourceInContext(pipelinesDir) } }),
  };
}

/**
 * `dir` as the Dockerfile's COPY names it: relative to the repository root (the build context),
 * with "/" separators. A directory outside the repository (or the root itself), or one the
 * repository's .dockerignore leaves out of the context, cannot be copied into an image built from
 * it, and is refused.
 */
export function pipelinesSourceInContext(dir: string): string {
  const absolute = resolve(dir);
  const inContext = relative(REPOSITORY_ROOT, absolute);
  if (inContext === '' || inContext === '..' || inContext.startsWith(`..${sep}`) || isAbsolute(inContext)) {
    throw new InfraConfigError(
      `pipelinesDir ${absolute} is not a directory inside the repository (${REPOSITORY_ROOT}): the images are built ` +
        'from the repository and carry a copy of the pipeline files, so the files must be in it',
    );
  }
  if (IgnoreStrategy.docker(REPOSITORY_ROOT, dockerIgnorePatterns()).ignores(absolute)) {
    throw new InfraConfigError(`pipelinesDir ${absolute} is left out of the images' build context by ${join(REPOSITORY_ROOT, '.dockerignore')}`);
  }
  return inContext.split(sep).join('/');
}

/** The repository's .dockerignore patterns (none without one), as CDK reads them when it stages the context. */
function dockerIgnorePatterns(): string[] {
  const file = join(REPOSITORY_ROOT, '.dockerignore');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * The object store's buckets as the deployables read them (`s3ObjectStoreForBuckets`): `landing/`
 * keys in the landing bucket, `claim-checks/` keys in the claim-check bucket, every other key
 * (`datasets/`, `runs/`, `reports/`) in the results bucket. Keys are the same in every bucket.
 */
export function objectStoreEnvironment(state: Pick<StateStack, 'buckets'>): Record<string, string> {
  return {
    NIGHTSHIFT_BUCKET: state.buckets.results.bucketName,
    NIGHTSHIFT_LANDING_BUCKET: state.buckets.landing.bucketName,
    NIGHTSHIFT_CLAIM_CHECK_BUCKET: state.buckets.claimChecks.bucketName,
  };
}

/** The bucket that holds `key` (or a key pattern), by the same prefixes the object store routes on. */
export function bucketOfKey(state: Pick<StateStack, 'buckets'>, key: string): s3.Bucket {
  if (key.startsWith(S3_BUCKET_PREFIXES.landing)) return state.buckets.landing;
  if (key.startsWith(S3_BUCKET_PREFIXES.claimChecks)) return state.buckets.claimChecks;
  return state.buckets.results;
}

/**
 * One statement of object access on the object store: S3 actions on key patterns. Mirrors the
 * embedded platform's per-principal grants (`EMBEDDED_ACCESS_GRANTS`, services/host), which follow
 * what each deployable's code reads and writes.
 */
export interface ObjectAccess {
  readonly actions: readonly ('s3:GetObject' | 's3:PutObject')[];
  readonly keys: readonly string[];
}

/** The worker reads its manifest and the landed files, and writes its partition's result and the detail files beside it (TCA). */
export const WORKER_OBJECT_ACCESS: readonly ObjectAccess[] = [
  { actions: ['s3:GetObject'], keys: ['landing/*', 'runs/*/manifest.json'] },
  { actions: ['s3:PutObject'], keys: ['runs/*/result.json', 'runs/*/detail/*'] },
];

/**
 * Grants `grantee` exactly `access` on the objects, each key pattern on the bucket that holds it
 * ({@link bucketOfKey}; with the key's actions if that bucket has a customer-managed key), plus
 * `s3:ListBucket` on each bucket touched: without it S3 answers a missing key with 403 instead of
 * 404, and the object store would take "not there yet" for "forbidden". Listing names is all
 * ListBucket allows; reading still needs GetObject on the key.
 */
export function grantObjectAccess(state: Pick<StateStack, 'buckets'>, grantee: iam.IGrantable, access: readonly ObjectAccess[]): void {
  const touched = new Set<s3.Bucket>();
  for (const { actions, keys } of access) {
    for (const key of keys) {
      const bucket = bucketOfKey(state, key);
      touched.add(bucket);
      bucket.grants.actionsOnObjectKeys(grantee, key, ...actions);
      if (bucket.encryptionKey) {
        const keyActions = actions.includes('s3:PutObject') ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'];
        bucket.encryptionKey.grant(grantee, ...keyActions);
      }
    }
  }
  iam.Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [...touched].map((b) => b.bucketArn) });
}

/** The VPC's address range (CDK's default, stated so that the endpoints' security group can name it). */
export const VPC_CIDR = '10.0.0.0/16';

/** CloudWatch Logs accepts only these retention periods (days). */
const LOG_RETENTION_DAYS = new Set<number>(
  Object.values(logs.RetentionDays).filter((d): d is number => typeof d === 'number' && d > 0),
);

/** `days` as a log group retention, refusing a value CloudWatch Logs would refuse at deploy time. */
export function logRetention(days: number): logs.RetentionDays {
  if (!LOG_RETENTION_DAYS.has(days)) {
    const allowed = [...LOG_RETENTION_DAYS].sort((a, b) => a - b).join(', ');
    throw new InfraConfigError(`retention.logDays: ${days} is not a CloudWatch Logs retention period (one of ${allowed})`);
  }
  return days as logs.RetentionDays;
}

/**
 * Where the heavy work runs: the VPC (shared with the services stack), AWS Batch's compute
 * environments, the three job queues the planner submits to, the worker's job definition and one
 * per command step of the deployed pipelines. Holds no data; redeploying it never touches the state stack.
 */
export class ComputeStack extends Stack {
  /** Private subnets for Batch hosts and Fargate tasks, with flow logs and (per config) VPC endpoints. */
  readonly vpc: ec2.Vpc;
  /** One job queue per tier, named `jobQueueName(config, tier)`, Spot first then on-demand, fair-share scheduled. */
  readonly jobQueues: Readonly<Record<JobQueueTier, batch.JobQueue>>;
  /** The worker: `workerJobDefinitionName(config)`, the Dockerfile's `worker` target. */
  readonly jobDefinition: batch.EcsJobDefinition;
  /** One job definition per `command` step of `props.pipelines`, by name (`commandJobDefinitionName`). */
  readonly commandJobDefinitions: CommandJobDefinitions;
  /** The worker's job logs (`NIGHTSHIFT_JOB_LOG_GROUP` of reporting, which serves them). */
  readonly workerLogGroup: logs.LogGroup;
  /** The Spot compute environment (absent when `config.compute.spot` is off) and the on-demand one. */
  readonly computeEnvironments: {
    readonly spot?: batch.ManagedEc2EcsComputeEnvironment;
    readonly onDemand: batch.ManagedEc2EcsComputeEnvironment;
  };

  constructor(scope: Construct, id: string, props: ComputeStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.vpc = this.network(config);
    this.computeEnvironments = this.computeEnvironmentsOf(config);
    this.jobQueues = this.queues(config);
    this.workerLogGroup = new logs.LogGroup(this, 'WorkerLogs', {
      logGroupName: `/aws/batch/${config.prefix}-worker`,
      retention: logRetention(config.retention.logDays),
    });
    const workerImage = ecs.ContainerImage.fromDockerImageAsset(deployableImageAsset(this, 'WorkerImage', 'worker'));
    this.jobDefinition = this.worker(config, props.state, workerImage);
    const { container } = this.jobDefinition;
    this.commandJobDefinitions = new CommandJobDefinitions(this, 'CommandSteps', {
      pipelines: props.pipelines ?? BUILT_IN_PIPELINES,
      workerImage,
      jobRole: container.jobRole!,
      executionRole: container.executionRole,
      logGroup: this.workerLogGroup,
      environment: container.environment ?? {},
    });
  }

  private network(config: InfraConfig): ec2.Vpc {
    const { maxAzs, natGateways, vpcEndpoints } = config.network;
    // Public subnets exist only to hold the NAT gateways; nothing of ours gets a public address.
    const subnetConfiguration: ec2.SubnetConfiguration[] =
      natGateways > 0
        ? [
            { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
            { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
          ]
        : [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 }];
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(VPC_CIDR),
      maxAzs,
      natGateways,
      subnetConfiguration,
      restrictDefaultSecurityGroup: true,
      gatewayEndpoints: vpcEndpoints
        ? { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 }, DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } }
        : undefined,
    });
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogs', { retention: logRetention(config.retention.logDays) }),
      ),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    if (vpcEndpoints) {
      const interfaces: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
        Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
        EventBridge: ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
        EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
        EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
        Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        Batch: ec2.InterfaceVpcEndpointAwsService.BATCH,
        XRay: ec2.InterfaceVpcEndpointAwsService.XRAY,
        // The ECS agent on Batch's EC2 hosts registers and reports through these; without a NAT
        // gateway the compute environment would otherwise never get a container instance.
        Ecs: ec2.InterfaceVpcEndpointAwsService.ECS,
        EcsAgent: ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
        EcsTelemetry: ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
      };
      // One group for every interface endpoint: HTTPS from inside the VPC, written as the literal CIDR
      // (not the VPC's CidrBlock attribute) so that what it allows is visible in the template and to cdk-nag.
      const endpoints = new ec2.SecurityGroup(this, 'VpcEndpoints', {
        vpc,
        description: 'nightshift VPC interface endpoints: HTTPS from inside the VPC only',
        allowAllOutbound: false,
      });
      endpoints.addIngressRule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), 'AWS API calls from the VPC');
      for (const [name, service] of Object.entries(interfaces)) {
        vpc.addInterfaceEndpoint(`${name}Endpoint`, { service, privateDnsEnabled: true, open: false, securityGroups: [endpoints] });
      }
    }
    return vpc;
  }

  private computeEnvironmentsOf(config: InfraConfig): ComputeStack['computeEnvironments'] {
    const { spot, spotMaxVcpus, onDemandMaxVcpus, minVcpus, instanceTypes } = config.compute;
    const securityGroup = new ec2.SecurityGroup(this, 'BatchHosts', {
      vpc: this.vpc,
      description: 'AWS Batch hosts of the worker: no inbound traffic; outbound to AWS APIs (endpoints or NAT)',
      allowAllOutbound: true,
    });
    // IMDSv2 with one hop: the ECS agent on the host reaches the instance metadata, the job's
    // containers do not (they get the job role's credentials from the ECS agent, not the host's).
    const launchTemplate = new ec2.LaunchTemplate(this, 'BatchHostTemplate', { requireImdsv2: true, httpPutResponseHopLimit: 1 });
    const common = {
      vpc: this.vpc,
      vpcSubnets: { subnets: this.vpc.privateSubnets.length > 0 ? this.vpc.privateSubnets : this.vpc.isolatedSubnets },
      securityGroups: [securityGroup],
      // `c7i` is a family (any size Batch picks), `c7i.2xlarge` one type: Batch takes both in one list.
      instanceTypes: instanceTypes.filter((t) => t.includes('.')).map((t) => new ec2.InstanceType(t)),
      instanceClasses: instanceTypes.filter((t) => !t.includes('.')) as ec2.InstanceClass[],
      useOptimalInstanceClasses: false,
      launchTemplate,
      updateToLatestImageVersion: true,
    };
    // Warm capacity (minVcpus) sits in the environment the queues try first, so it serves the next job.
    const spotEnvironment = spot
      ? new batch.ManagedEc2EcsComputeEnvironment(this, 'Spot', {
          ...common,
          spot: true,
          allocationStrategy: batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED,
          minvCpus: minVcpus,
          maxvCpus: spotMaxVcpus,
        })
      : undefined;
    const onDemand = new batch.ManagedEc2EcsComputeEnvironment(this, 'OnDemand', {
      ...common,
      spot: false,
      allocationStrategy: batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
      minvCpus: spot ? 0 : minVcpus,
      maxvCpus: onDemandMaxVcpus,
    });
    for (const environment of [spotEnvironment, onDemand]) {
      if (!environment?.instanceRole) continue;
      // The L2 gives each host AWS's managed ECS-for-EC2 instance policy (ECS agent registration, ECR pull, awslogs).
      Validations.of(environment.instanceRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]',
        reason:
          'The instance role of AWS Batch ECS hosts: AWS maintains this policy for the ECS agent (register the container instance, pull from ECR, ' +
          'write awslogs). Job containers cannot use it (IMDSv2, hop limit 1); the worker runs with its own job role.',
      });
    }
    return spotEnvironment ? { spot: spotEnvironment, onDemand } : { onDemand };
  }

  private queues(config: InfraConfig): Record<JobQueueTier, batch.JobQueue> {
    // Every queue is fair-share: a tenant (or pipeline) with a flood of jobs cannot starve the
    // others of the same tier. The planner gives each job a share identifier on the queues it is told
    // are fair-share (NIGHTSHIFT_FAIR_SHARE_QUEUES): all of them.
    const fairShare = new batch.FairshareSchedulingPolicy(this, 'FairShare', {
      schedulingPolicyName: `${config.prefix}-fair-share`,
      shareDecay: Duration.hours(1),
    });
    const { spot, onDemand } = this.computeEnvironments;
    const ordered: batch.OrderedComputeEnvironment[] = [
      ...(spot ? [{ computeEnvironment: spot, order: 1 }] : []),
      { computeEnvironment: onDemand, order: spot ? 2 : 1 },
    ];
    const entries = JOB_QUEUE_TIERS.map((tier) => {
      const queue = new batch.JobQueue(this, `${pascal(tier)}Queue`, {
        jobQueueName: jobQueueName(config, tier),
        priority: JOB_QUEUE_PRIORITY[tier],
        computeEnvironments: ordered,
        schedulingPolicy: fairShare,
      });
      return [tier, queue] as const;
    });
    return Object.fromEntries(entries) as Record<JobQueueTier, batch.JobQueue>;
  }

  private worker(config: InfraConfig, state: StateStack, image: ecs.ContainerImage): batch.EcsJobDefinition {
    const jobRole = new iam.Role(this, 'WorkerJobRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'nightshift worker: reads its manifest and landed files, writes its result; nothing else',
    });
    grantObjectAccess(state, jobRole, WORKER_OBJECT_ACCESS);
    acknowledgeWildcardResources(jobRole, objectKeyAcknowledgements(WORKER_OBJECT_ACCESS));

    const { vcpus, memoryMiB, attempts, timeoutSeconds } = config.worker;
    const container = new batch.EcsEc2ContainerDefinition(this, 'WorkerContainer', {
      image,
      cpu: vcpus,
      memory: Size.mebibytes(memoryMiB),
      jobRole,
      environment: {
        NIGHTSHIFT_MODE: 'aws',
        ...objectStoreEnvironment(state),
      },
      // An init process as PID 1 forwards TerminateJob's SIGTERM: the worker installs no handler.
      linuxParameters: new batch.LinuxParameters(this, 'WorkerLinux', { initProcessEnabled: true }),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.workerLogGroup, streamPrefix: 'worker' }),
    });
    acknowledgeWildcardResources(container.executionRole, [ECR_AUTHORIZATION_ACKNOWLEDGEMENT]);
    return new batch.EcsJobDefinition(this, 'Worker', {
      jobDefinitionName: workerJobDefinitionName(config),
      container,
      // The defaults of a job submitted without a retry strategy; the planner submits each step's own.
      retryAttempts: attempts,
      retryStrategies: workerRetryStrategies(),
      timeout: Duration.seconds(timeoutSeconds),
      propagateTags: true,
    });
  }
}

/**
 * The worker's retry rules: the planner's own (`WORKER_EXIT_RULES`: exit code 2 is bad input, never
 * retried), then a host taken away (Spot reclaim, "Host EC2 (instance i-…) terminated.") retried.
 * Batch retries what no rule matches, up to the attempts.
 */
export function workerRetryStrategies(): batch.RetryStrategy[] {
  const fromPlanner = WORKER_EXIT_RULES.map((rule) =>
    batch.RetryStrategy.of(rule.action === 'EXIT' ? batch.Action.EXIT : batch.Action.RETRY, batch.Reason.custom({ onExitCode: rule.onExitCode })),
  );
  return [...fromPlanner, batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED)];
}

/** An image pull's token: `ecr:GetAuthorizationToken` takes no resource; the pull itself is scoped to the repository. */
export const ECR_AUTHORIZATION_ACKNOWLEDGEMENT: WildcardResourceAcknowledgement = {
  matches: (resource) => resource === '*',
  actions: ['ecr:GetAuthorizationToken'],
  reason:
    'ecr:GetAuthorizationToken (before pulling the image) supports no resource-level permission; ' +
    'the pull actions are scoped to the asset repository.',
};

/** A reason to accept cdk-nag's IAM5 finding on each wildcard resource that `matches`. */
export interface WildcardResourceAcknowledgement {
  /** Tested against the resource as cdk-nag prints it (`<Logical.Arn>/runs/*`, `arn:<AWS::Partition>:batch:…:job/*`, `*`). */
  readonly matches: (resource: string) => boolean;
  /** When given, only if every statement granting on the resource grants no other action. */
  readonly actions?: readonly string[];
  readonly reason: string;
}

/** The resource is `<bucket>/<key>`: an object key pattern of `access`. */
export function objectKeyAcknowledgements(access: readonly ObjectAccess[]): WildcardResourceAcknowledgement[] {
  return [...new Set(access.flatMap((a) => a.keys))].map((key) => ({
    matches: (resource) => resource.endsWith(`/${key}`) && !resource.slice(0, -key.length - 1).includes('*'),
    reason: `Object keys under ${key} of the object store: the prefix this deployable's code reads or writes, and no more.`,
  }));
}

/**
 * Acknowledges cdk-nag's `AwsSolutions-IAM5[Resource::…]` finding of each wildcard resource of the
 * IAM policies under `scope` that one of `acknowledgements` matches, on the policy itself, one
 * finding at a time: any other wildcard stays a finding. Done when the app is validated, after
 * cross-stack references are resolved, so that the finding id is the one cdk-nag computes (an ARN
 * imported from another stack prints as its export's name).
 */
export function acknowledgeWildcardResources(scope: IConstruct, acknowledgements: readonly WildcardResourceAcknowledgement[]): void {
  scope.node.addValidation({
    validate: () => {
      // Managed policies too: CDK moves what outgrows a role's inline policy into `OverflowPolicy<n>` managed policies.
      const policies = scope.node.findAll().filter((c): c is iam.CfnPolicy | iam.CfnManagedPolicy => c instanceof iam.CfnPolicy || c instanceof iam.CfnManagedPolicy);
      for (const policy of policies) {
        const document = Stack.of(policy).resolve(policy.policyDocument) as { Statement?: PolicyStatementJson[] };
        const actionsByResource = new Map<string, Set<string>>();
        for (const statement of document.Statement ?? []) {
          if (statement.Effect !== 'Allow') continue;
          for (const resource of asArray(statement.Resource).map(flattenCfnReference).filter((r) => r.includes('*'))) {
            const actions = actionsByResource.get(resource) ?? new Set<string>();
            for (const action of asArray(statement.Action)) actions.add(String(action));
            actionsByResource.set(resource, actions);
          }
        }
        for (const [resource, actions] of actionsByResource) {
          const onlyThese = (a: WildcardResourceAcknowledgement): boolean => a.actions === undefined || [...actions].every((x) => a.actions?.includes(x));
          const ack = acknowledgements.find((a) => a.matches(resource) && onlyThese(a));
          if (ack) Validations.of(policy.node.scope ?? policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason: ack.reason });
        }
      }
      return [];
    },
  });
}

interface PolicyStatementJson {
  Effect: string;
  Action: unknown;
  Resource: unknown;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** A CloudFormation value as cdk-nag's finding ids print it (its `flattenCfnReference`). */
export function flattenCfnReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (v['Fn::Join']) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(flattenCfnReference).join(separator);
    }
    if (v['Fn::Sub']) return flattenCfnReference(v['Fn::Sub']);
    if (v['Fn::GetAtt']) {
      const [resource, attribute] = v['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenCfnReference(resource)}.${flattenCfnReference(attribute)}>`;
    }
    if (v['Fn::ImportValue']) return flattenCfnReference(v['Fn::ImportValue']);
    if (v['Ref']) return `<${flattenCfnReference(v['Ref'])}>`;
  }
  return JSON.stringify(value);
}

function pascal(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
