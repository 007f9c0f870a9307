import { Duration, Size, Stack } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { commandJobDefinitionName, type PipelineDefinition, type StepDefinition } from '@nightshift/jobs-domain';
import { InfraConfigError } from '../config.js';

/** Props of {@link CommandJobDefinitions}. */
export interface CommandJobDefinitionsProps {
  /** The deployed pipelines: one job definition per `command` step. */
  readonly pipelines: readonly PipelineDefinition[];
  /** The image of a step without an `image` of its own: the worker's, whose `run-command` runs the step's program. */
  readonly workerImage: ecs.ContainerImage;
  /** The worker's job role: a command's job may read and write what the worker's may, no more. */
  readonly jobRole: iam.IRole;
  /** Pulls the images and writes the logs: the worker's, granted a pull of each step's ECR repository too. */
  readonly executionRole: iam.IRole;
  /** The worker's log group: reporting serves every job's log from it (`NIGHTSHIFT_JOB_LOG_GROUP`). */
  readonly logGroup: logs.ILogGroup;
  /** The worker's environment (mode, the object store's buckets), which `run-command` reads as the worker does. */
  readonly environment: Readonly<Record<string, string>>;
}

/** AWS Batch's shortest attempt timeout. */
export const MIN_BATCH_TIMEOUT_SECONDS = 60;

/** AWS Batch's fewest vCPUs of a container on EC2 resources (the compute environments' kind). */
export const MIN_BATCH_EC2_VCPUS = 1;

/** One command step of a deployed pipeline, and the job definition name the planner submits it to. */
export interface CommandStep {
  readonly pipeline: string;
  readonly step: StepDefinition;
  readonly jobDefinitionName: string;
}

/**
 * The command steps of `pipelines`, each with its job definition's name. Refuses two steps whose
 * names meet (`a-b` + `c` and `a` + `b-c`, or names cut at 128 characters): the planner would
 * submit both to one definition, in one image.
 */
export function commandStepsOf(pipelines: readonly PipelineDefinition[]): CommandStep[] {
  const steps = pipelines.flatMap((p) =>
    p.steps.filter((s) => s.command !== undefined).map((step) => ({ pipeline: p.name, step, jobDefinitionName: commandJobDefinitionName(p.name, step.name) })),
  );
  const first = new Map<string, CommandStep>();
  for (const s of steps) {
    const other = first.get(s.jobDefinitionName);
    if (other) {
      throw new InfraConfigError(
        `pipeline ${s.pipeline} step ${s.step.name} and pipeline ${other.pipeline} step ${other.step.name} would share the AWS Batch job ` +
          `definition ${s.jobDefinitionName}: rename one of them`,
      );
    }
    first.set(s.jobDefinitionName, s);
  }
  return steps;
}

/**
 * One AWS Batch job definition per `command` step of the deployed pipelines, named as the planner
 * submits the step (`commandJobDefinitionName`: `nightshift-<pipeline>-<step>`): the step's `image`
 * if it has one, else the worker's; its vCPUs, memory, attempts, retry rules and timeout (the
 * planner's SubmitJob repeats them, the definition's are what a job submitted by hand gets); and,
 * as the worker's, the job role, environment, init process and awslogs to the worker's log group.
 * The planner runs a step under the worker (`<worker command> run-command -- <argv>`) unless it is
 * `bare`: a step image of a non-bare step must hold the worker (build it `FROM` the worker image).
 */
export class CommandJobDefinitions extends Construct {
  /** Each step's job definition, by its name. */
  readonly definitions: ReadonlyMap<string, batch.EcsJobDefinition>;

  constructor(scope: Construct, id: string, props: CommandJobDefinitionsProps) {
    super(scope, id);
    const definitions = new Map<string, batch.EcsJobDefinition>();
    for (const { pipeline, step, jobDefinitionName } of commandStepsOf(props.pipelines)) {
      // What the embedded platform accepts and AWS Batch refuses (at deploy, and at every SubmitJob): refused here instead.
      const refused = (problem: string) => new InfraConfigError(`pipeline ${pipeline} step ${step.name}: ${problem}`);
      if (step.timeoutSeconds < MIN_BATCH_TIMEOUT_SECONDS) {
        throw refused(`timeoutSeconds ${step.timeoutSeconds} is below AWS Batch's minimum of ${MIN_BATCH_TIMEOUT_SECONDS}`);
      }
      if (step.vcpus < MIN_BATCH_EC2_VCPUS) {
        throw refused(`vcpus ${step.vcpus} is below AWS Batch's minimum of ${MIN_BATCH_EC2_VCPUS} on EC2 compute environments`);
      }
      // The definition's name is unique here, and stable as long as the step's: a stable construct id.
      const at = new Construct(this, jobDefinitionName);
      const container = new batch.EcsEc2ContainerDefinition(at, 'Container', {
        image: step.image === undefined ? props.workerImage : stepImage(at, step.image),
        cpu: step.vcpus,
        memory: Size.mebibytes(step.memoryMiB),
        jobRole: props.jobRole,
        executionRole: props.executionRole,
        environment: { ...props.environment },
        // An init process as PID 1 forwards TerminateJob's SIGTERM to the program (the worker installs no handler).
        linuxParameters: new batch.LinuxParameters(at, 'Linux', { initProcessEnabled: true }),
        logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: 'worker' }),
      });
      definitions.set(
        jobDefinitionName,
        new batch.EcsJobDefinition(at, 'Definition', {
          jobDefinitionName,
          container,
          retryAttempts: step.attempts,
          retryStrategies: commandRetryStrategies(step),
          timeout: Duration.seconds(step.timeoutSeconds),
          propagateTags: true,
        }),
      );
    }
    this.definitions = definitions;
  }
}

/**
 * A command step's retry rules: its own `evaluateOnExit` (the worker's exit-code rule is not among
 * them: a user's program decides what its codes mean), then a host taken away (Spot reclaim)
 * retried, as the worker's definition does. At most 4 + 1, within Batch's 5.
 */
export function commandRetryStrategies(step: Pick<StepDefinition, 'evaluateOnExit'>): batch.RetryStrategy[] {
  const own = step.evaluateOnExit.map((rule) =>
    batch.RetryStrategy.of(
      rule.action.toUpperCase() === 'EXIT' ? batch.Action.EXIT : batch.Action.RETRY,
      batch.Reason.custom({
        ...(rule.onExitCode !== undefined ? { onExitCode: rule.onExitCode } : {}),
        ...(rule.onStatusReason !== undefined ? { onStatusReason: rule.onStatusReason } : {}),
        ...(rule.onReason !== undefined ? { onReason: rule.onReason } : {}),
      }),
    ),
  );
  return [...own, batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED)];
}

/** `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:<tag>][@<digest>]`: an image in a private ECR repository. */
const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9][a-z0-9._/-]*?)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/;

/**
 * A step's image. One in a private ECR repository is referenced as that repository's, so that the
 * execution role is granted a pull of exactly it (a cross-account repository's policy must allow
 * this account too); any other (Docker Hub, `public.ecr.aws`, ...) is pulled anonymously as named.
 */
export function stepImage(scope: Construct, image: string): ecs.ContainerImage {
  const ecrImage = ECR_IMAGE.exec(image);
  if (!ecrImage) return ecs.ContainerImage.fromRegistry(image);
  const [, account, region, repositoryName, tag, digest] = ecrImage as unknown as [string, string, string, string, string | undefined, string | undefined];
  const repository = ecr.Repository.fromRepositoryAttributes(scope, 'Repository', {
    repositoryName,
    repositoryArn: Stack.of(scope).formatArn({ service: 'ecr', account, region, resource: 'repository', resourceName: repositoryName }),
  });
  return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag ?? 'latest');
}
