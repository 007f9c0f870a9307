import { join } from 'node:path';
import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { commandJobDefinitionName, definePipeline, WORKER_EXIT_RULES, type PipelineDefinition } from '@nightshift/jobs-domain';
import { InfraConfigError, parseInfraConfig, type InfraConfig } from '../config.js';
import { JOB_QUEUE_PRIORITY, JOB_QUEUE_TIERS, jobQueueName, workerJobDefinitionName } from '../names.js';
import { bucketOfKey, ComputeStack, flattenCfnReference, objectStoreEnvironment, pipelinesSourceInContext, REPOSITORY_ROOT, VPC_CIDR } from './compute-stack.js';
import { StateStack } from './state-stack.js';

// Not the defaults, so that each value is seen to come from the configuration.
const config = parseInfraConfig({
  prefix: 'ns-test',
  network: { maxAzs: 2, natGateways: 1, vpcEndpoints: true },
  compute: { spot: true, spotMaxVcpus: 128, onDemandMaxVcpus: 32, minVcpus: 4, instanceTypes: ['c7i', 'm7i.2xlarge'] },
  worker: { vcpus: 2, memoryMiB: 4096, attempts: 4, timeoutSeconds: 1800 },
  retention: { logDays: 14 },
});

/** One app per configuration: synth stages the repository root once per image, so it is shared by the tests. */
function synth(c: InfraConfig, pipelines?: readonly PipelineDefinition[]): { state: StateStack; compute: ComputeStack; template: Template } {
  // The built-in CloudFormation schema check costs seconds per synth; the full app's spec (services) runs it.
  const app = new App({ builtinCloudFormationValidation: false });
  const state = new StateStack(app, 'State', { config: c });
  const compute = new ComputeStack(app, 'Compute', { config: c, state, ...(pipelines ? { pipelines } : {}) });
  return { state, compute, template: Template.fromStack(compute) };
}

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('ComputeStack', () => {
  let state: StateStack;
  let compute: ComputeStack;
  let template: Template;
  const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }): string =>
    stack.getLogicalId(construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);

  beforeAll(() => {
    ({ state, compute, template } = synth(config));
  });

  describe('network', () => {
    it('has private subnets with NAT gateways per config and flow logs on', () => {
      template.resourceCountIs('AWS::EC2::NatGateway', 1);
      template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: VPC_CIDR });
      expect(compute.vpc.privateSubnets).toHaveLength(2);
      template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
    });

    it('has gateway endpoints for S3 and DynamoDB and interface endpoints for the APIs the deployables and Batch hosts call', () => {
      const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')) as Resource[];
      const named = (type: string): string[] =>
        endpoints
          .filter((e) => e.Properties['VpcEndpointType'] === type)
          .map((e) => flattenCfnReference(e.Properties['ServiceName']).replace('com.amazonaws.<AWS::Region>.', ''))
          .sort();
      expect(named('Gateway')).toEqual(['dynamodb', 's3']);
      expect(named('Interface')).toEqual(['batch', 'ecr.api', 'ecr.dkr', 'ecs', 'ecs-agent', 'ecs-telemetry', 'events', 'logs', 'sqs', 'xray']);
    });

    it('lets the interface endpoints take HTTPS from the VPC only', () => {
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('interface endpoints'),
        SecurityGroupIngress: [{ CidrIp: VPC_CIDR, FromPort: 443, ToPort: 443, IpProtocol: 'tcp', Description: Match.anyValue() }],
      });
      for (const e of Object.values(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } })) as Resource[]) {
        expect(e.Properties['PrivateDnsEnabled']).toBe(true);
        expect(e.Properties['SecurityGroupIds']).toHaveLength(1);
      }
    });
  });

  describe('compute environments', () => {
    it('has a Spot environment with the price-capacity-optimized strategy and the config vCPUs and instance types', () => {
      template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
        Type: 'managed',
        ComputeResources: Match.objectLike({
          Type: 'SPOT',
          AllocationStrategy: 'SPOT_PRICE_CAPACITY_OPTIMIZED',
          MinvCpus: 4,
          MaxvCpus: 128,
          InstanceTypes: ['m7i.2xlarge', 'c7i'],
        }),
      });
    });

    it('has an on-demand environment with the config maximum (warm capacity stays on Spot)', () => {
      template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
        ComputeResources: Match.objectLike({ Type: 'EC2', AllocationStrategy: 'BEST_FIT_PROGRESSIVE', MinvCpus: 0, MaxvCpus: 32, InstanceTypes: ['m7i.2xlarge', 'c7i'] }),
      });
      template.resourceCountIs('AWS::Batch::ComputeEnvironment', 2);
    });

    it('launches hosts in the private subnets with IMDSv2 and one hop (job containers cannot reach the host role)', () => {
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 } }) });
      for (const ce of Object.values(template.findResources('AWS::Batch::ComputeEnvironment')) as Resource[]) {
        const resources = ce.Properties['ComputeResources'] as { Subnets: unknown[]; LaunchTemplate: unknown };
        expect(resources.Subnets.map(flattenCfnReference)).toEqual(compute.vpc.privateSubnets.map((s) => `<${logicalId(compute, s)}>`));
        expect(resources.LaunchTemplate).toBeDefined();
      }
    });
  });

  describe('job queues', () => {
    it('has one queue per tier, named and prioritized as names.ts says, each trying Spot first, then on-demand', () => {
      const spot = logicalId(compute, compute.computeEnvironments.spot!);
      const onDemand = logicalId(compute, compute.computeEnvironments.onDemand);
      for (const tier of JOB_QUEUE_TIERS) {
        template.hasResourceProperties('AWS::Batch::JobQueue', {
          JobQueueName: jobQueueName(config, tier),
          Priority: JOB_QUEUE_PRIORITY[tier],
          ComputeEnvironmentOrder: [
            { ComputeEnvironment: { 'Fn::GetAtt': [spot, 'ComputeEnvironmentArn'] }, Order: 1 },
            { ComputeEnvironment: { 'Fn::GetAtt': [onDemand, 'ComputeEnvironmentArn'] }, Order: 2 },
          ],
        });
      }
      template.resourceCountIs('AWS::Batch::JobQueue', 3);
      expect(Object.keys(compute.jobQueues).sort()).toEqual([...JOB_QUEUE_TIERS].sort());
    });

    it('schedules every queue by one fair-share policy', () => {
      template.hasResourceProperties('AWS::Batch::SchedulingPolicy', { Name: 'ns-test-fair-share', FairsharePolicy: Match.objectLike({ ShareDecaySeconds: 3600 }) });
      const policy = Object.keys(template.findResources('AWS::Batch::SchedulingPolicy'))[0];
      for (const queue of Object.values(template.findResources('AWS::Batch::JobQueue')) as Resource[]) {
        expect(queue.Properties['SchedulingPolicyArn']).toEqual({ 'Fn::GetAtt': [policy, 'Arn'] });
      }
    });
  });

  describe("the worker's job definition", () => {
    const jobDefinition = (): Record<string, unknown> =>
      (Object.values(template.findResources('AWS::Batch::JobDefinition')) as Resource[])[0].Properties;

    it('is named by names.ts, an EC2 container job with the config vCPUs and memory, tags propagated', () => {
      template.resourceCountIs('AWS::Batch::JobDefinition', 1);
      template.hasResourceProperties('AWS::Batch::JobDefinition', {
        JobDefinitionName: workerJobDefinitionName(config),
        Type: 'container',
        PlatformCapabilities: ['EC2'],
        PropagateTags: true,
        ContainerProperties: Match.objectLike({
          ResourceRequirements: Match.arrayWith([
            { Type: 'MEMORY', Value: '4096' },
            { Type: 'VCPU', Value: '2' },
          ]),
          LinuxParameters: { InitProcessEnabled: true },
        }),
      });
    });

    it("retries per config, never on the planner's exit rules (exit 2), always on a reclaimed host; times out per config", () => {
      expect(jobDefinition()['RetryStrategy']).toEqual({
        Attempts: 4,
        EvaluateOnExit: [
          ...WORKER_EXIT_RULES.map((r) => ({ Action: r.action, OnExitCode: r.onExitCode })),
          { Action: 'RETRY', OnStatusReason: 'Host EC2*' },
        ],
      });
      expect(WORKER_EXIT_RULES).toContainEqual({ onExitCode: '2', action: 'EXIT' });
      expect(jobDefinition()['Timeout']).toEqual({ AttemptDurationSeconds: 1800 });
    });

    it('logs with awslogs to its log group, kept for the configured days', () => {
      template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/batch/ns-test-worker', RetentionInDays: 14 });
      const container = jobDefinition()['ContainerProperties'] as Record<string, unknown>;
      expect(container['LogConfiguration']).toEqual({
        LogDriver: 'awslogs',
        Options: { 'awslogs-group': { Ref: logicalId(compute, compute.workerLogGroup) }, 'awslogs-stream-prefix': 'worker', 'awslogs-region': { Ref: 'AWS::Region' } },
      });
    });

    it("runs the Dockerfile's worker target as an image asset, in aws mode on the State stack's three buckets", () => {
      const container = jobDefinition()['ContainerProperties'] as Record<string, unknown>;
      expect(flattenCfnReference(container['Image'])).toMatch(/container-assets-.*:[0-9a-f]{64}$/);
      const env = Object.fromEntries(
        (container['Environment'] as { Name: string; Value: unknown }[]).map((e) => [e.Name, shortened(flattenCfnReference(e.Value))]),
      );
      expect(env).toEqual({
        NIGHTSHIFT_MODE: 'aws',
        NIGHTSHIFT_BUCKET: '<State:Results>',
        NIGHTSHIFT_LANDING_BUCKET: '<State:Landing>',
        NIGHTSHIFT_CLAIM_CHECK_BUCKET: '<State:ClaimChecks>',
      });
      const assets = JSON.stringify(Template.fromStack(compute).toJSON());
      expect(assets).not.toContain('node_modules');
    });

    it('gives the job role exactly: read the landed files and its manifest, write its result and detail files, list the two buckets it touches', () => {
      const roleId = logicalId(compute, compute.jobDefinition.container.jobRole!);
      const statements = policyStatementsOf(template, roleId);
      expect(statements.map((s) => [s.actions.join(','), s.resource])).toEqual([
        ['s3:GetObject', '<State:Landing>/landing/*'],
        ['s3:GetObject', '<State:Results>/runs/*/manifest.json'],
        ['s3:PutObject', '<State:Results>/runs/*/result.json'],
        ['s3:PutObject', '<State:Results>/runs/*/detail/*'],
        ['s3:ListBucket', '<State:Landing>'],
        ['s3:ListBucket', '<State:Results>'],
      ]);
    });

    it("grants each key on the State bucket that holds it (landing/ in landing, the rest in results), ListBucket on those two only", () => {
      const { landing, results } = state.buckets;
      const arnOf = (bucket: s3.Bucket): string => `State:ExportsOutputFnGetAtt${state.getLogicalId(bucket.node.defaultChild as s3.CfnBucket)}Arn`;
      const roleId = logicalId(compute, compute.jobDefinition.container.jobRole!);
      const statements = policyStatementsOf(template, roleId, { raw: true });
      const on = (key: string): string[] => statements.filter((st) => st.resource.endsWith(`/${key}`)).map((st) => st.resource);
      for (const [key, bucket] of [
        ['landing/*', landing],
        ['runs/*/manifest.json', results],
        ['runs/*/result.json', results],
        ['runs/*/detail/*', results],
      ] as const) {
        expect(on(key), key).toHaveLength(1);
        expect(on(key)[0], key).toMatch(new RegExp(`^${arnOf(bucket)}[0-9A-F]{8}/`));
      }
      const listed = statements.filter((st) => st.actions.includes('s3:ListBucket'));
      expect(listed.map((st) => st.actions)).toEqual([['s3:ListBucket'], ['s3:ListBucket']]);
      expect(listed.map((st) => st.resource)).toEqual([expect.stringMatching(new RegExp(`^${arnOf(landing)}[0-9A-F]{8}$`)), expect.stringMatching(new RegExp(`^${arnOf(results)}[0-9A-F]{8}$`))]);
      expect(JSON.stringify(statements)).not.toContain(state.getLogicalId(state.buckets.claimChecks.node.defaultChild as s3.CfnBucket));
    });
  });

  describe("the command steps' job definitions (a pipeline with a command in an image of its own, and one in the worker's)", () => {
    type JobDefinition = { JobDefinitionName?: string; ContainerProperties: Record<string, unknown> } & Record<string, unknown>;
    const definitions = (): JobDefinition[] =>
      (Object.values(variant().template.findResources('AWS::Batch::JobDefinition')) as Resource[]).map((r) => r.Properties as JobDefinition);
    const named = (name: string): JobDefinition => {
      const found = definitions().filter((d) => d.JobDefinitionName === name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };
    const worker = (): JobDefinition => named(workerJobDefinitionName(variant().config));
    const exportStep = (): JobDefinition => named(commandJobDefinitionName('fills-export', 'export'));
    const notifyStep = (): JobDefinition => named(commandJobDefinitionName('fills-export', 'notify'));

    it("is one per command step (none for the analytic), named as the planner submits it, besides the worker's", () => {
      expect(definitions().map((d) => d.JobDefinitionName).sort()).toEqual(
        ['nightshift-fills-export-export', 'nightshift-fills-export-notify', workerJobDefinitionName(variant().config)].sort(),
      );
      expect([...variant().compute.commandJobDefinitions.definitions.keys()]).toEqual(['nightshift-fills-export-export', 'nightshift-fills-export-notify']);
    });

    it("runs a step in its own image (an ECR one, pulled by the worker's execution role), else in the worker's", () => {
      expect(flattenCfnReference(exportStep().ContainerProperties['Image'])).toBe('123456789012.dkr.ecr.eu-west-1.<AWS::URLSuffix>/desk-tools:1.4.2');
      expect(notifyStep().ContainerProperties['Image']).toEqual(worker().ContainerProperties['Image']);
      const executionRole = (worker().ContainerProperties['ExecutionRoleArn'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      expect(policyStatementsOf(variant().template, executionRole)).toContainEqual({
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        resource: 'arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository/desk-tools',
      });
    });

    it("takes the step's vCPUs, memory, attempts, retry rules (its own, then a reclaimed host) and timeout", () => {
      expect(exportStep()).toMatchObject({
        RetryStrategy: { Attempts: 3, EvaluateOnExit: [{ Action: 'EXIT', OnExitCode: '3' }, { Action: 'RETRY', OnStatusReason: 'Host EC2*' }] },
        Timeout: { AttemptDurationSeconds: 900 },
      });
      expect(exportStep().ContainerProperties['ResourceRequirements']).toEqual(expect.arrayContaining([{ Type: 'VCPU', Value: '2' }, { Type: 'MEMORY', Value: '3072' }]));
      // The step's defaults: 1 vCPU, 512 MiB, one attempt, an hour.
      expect(notifyStep()).toMatchObject({ RetryStrategy: { Attempts: 1, EvaluateOnExit: [{ Action: 'RETRY', OnStatusReason: 'Host EC2*' }] }, Timeout: { AttemptDurationSeconds: 3600 } });
      expect(notifyStep().ContainerProperties['ResourceRequirements']).toEqual(expect.arrayContaining([{ Type: 'VCPU', Value: '1' }, { Type: 'MEMORY', Value: '512' }]));
    });

    it("runs as the worker does: its job role, execution role, environment, init process and logs (reporting serves them from there)", () => {
      for (const step of [exportStep(), notifyStep()]) {
        for (const key of ['JobRoleArn', 'ExecutionRoleArn', 'Environment', 'LogConfiguration', 'LinuxParameters']) {
          expect(step.ContainerProperties[key], key).toEqual(worker().ContainerProperties[key]);
        }
        expect(step).toMatchObject({ Type: 'container', PlatformCapabilities: ['EC2'], PropagateTags: true });
      }
      expect(worker().ContainerProperties['LinuxParameters']).toEqual({ InitProcessEnabled: true });
    });
  });

  describe("the images' pipeline files", () => {
    it('name a directory inside the repository (the build context) relative to it, as the Dockerfile copies it', () => {
      expect(pipelinesSourceInContext(join(REPOSITORY_ROOT, 'deploy', 'pipelines'))).toBe('deploy/pipelines');
      expect(pipelinesSourceInContext(join(REPOSITORY_ROOT, '..pipelines'))).toBe('..pipelines');
    });

    it('refuse a directory outside the repository, or the repository itself: the image could not copy it', () => {
      for (const dir of [join(REPOSITORY_ROOT, '..', 'pipelines'), '/etc/nightshift/pipelines', REPOSITORY_ROOT]) {
        expect(() => pipelinesSourceInContext(dir), dir).toThrow(InfraConfigError);
      }
      expect(() => pipelinesSourceInContext('/etc/nightshift/pipelines')).toThrow(/is not a directory inside the repository/);
    });

    it("refuse a directory the repository's .dockerignore leaves out of the build context", () => {
      expect(() => pipelinesSourceInContext(join(REPOSITORY_ROOT, 'tmp', 'pipelines'))).toThrow(/left out of the images' build context by .*\.dockerignore$/);
    });
  });

  describe('the object store routing', () => {
    it('puts landing/ keys in the landing bucket, claim-checks/ keys in the claim-check bucket, every other key in results', () => {
      const { landing, results, claimChecks } = state.buckets;
      expect(bucketOfKey(state, 'landing/*')).toBe(landing);
      expect(bucketOfKey(state, 'landing/executions/2026-11-20/a.csv')).toBe(landing);
      expect(bucketOfKey(state, 'claim-checks/*')).toBe(claimChecks);
      for (const key of ['datasets/*', 'runs/*', 'runs/*/result.json', 'reports/*', 'landing-not/x']) expect(bucketOfKey(state, key), key).toBe(results);
    });

    it('gives the deployables each bucket under the variable the object store reads it from', () => {
      expect(objectStoreEnvironment(state)).toEqual({
        NIGHTSHIFT_BUCKET: state.buckets.results.bucketName,
        NIGHTSHIFT_LANDING_BUCKET: state.buckets.landing.bucketName,
        NIGHTSHIFT_CLAIM_CHECK_BUCKET: state.buckets.claimChecks.bucketName,
      });
    });
  });

  describe('without Spot, NAT gateways or endpoints', () => {

    it('has only the on-demand environment, holding the warm capacity, first in every queue', () => {
      variant().template.resourceCountIs('AWS::Batch::ComputeEnvironment', 1);
      variant().template.hasResourceProperties('AWS::Batch::ComputeEnvironment', { ComputeResources: Match.objectLike({ Type: 'EC2', MinvCpus: 2, MaxvCpus: 16 }) });
      const onDemand = logicalId(variant().compute, variant().compute.computeEnvironments.onDemand);
      for (const queue of Object.values(variant().template.findResources('AWS::Batch::JobQueue')) as Resource[]) {
        expect(queue.Properties['ComputeEnvironmentOrder']).toEqual([{ ComputeEnvironment: { 'Fn::GetAtt': [onDemand, 'ComputeEnvironmentArn'] }, Order: 1 }]);
      }
    });

    it('has isolated subnets, no NAT gateway and no endpoint', () => {
      variant().template.resourceCountIs('AWS::EC2::NatGateway', 0);
      variant().template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
      variant().template.resourceCountIs('AWS::EC2::InternetGateway', 0);
      expect(variant().compute.vpc.isolatedSubnets).toHaveLength(2);
    });
  });

  describe('under cdk-nag AwsSolutions', () => {
    it('has no unacknowledged finding', () => {
      expect(nagFindings(compute)).toEqual([]);
      expect(nagFindings(variant().compute)).toEqual([]);
    });

    it('acknowledges exactly these findings, each on the narrowest construct, with a reason', () => {
      const ecsForEc2 = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]';
      expect(acknowledgementsOf(compute).sort()).toEqual(
        [
          `Compute/Spot/InstanceProfileRole ${ecsForEc2}`,
          `Compute/OnDemand/InstanceProfileRole ${ecsForEc2}`,
          'Compute/WorkerJobRole/DefaultPolicy AwsSolutions-IAM5[Resource::<State:Landing>/landing/*]',
          'Compute/WorkerJobRole/DefaultPolicy AwsSolutions-IAM5[Resource::<State:Results>/runs/*/manifest.json]',
          'Compute/WorkerJobRole/DefaultPolicy AwsSolutions-IAM5[Resource::<State:Results>/runs/*/result.json]',
          'Compute/WorkerJobRole/DefaultPolicy AwsSolutions-IAM5[Resource::<State:Results>/runs/*/detail/*]',
          'Compute/WorkerContainer/ExecutionRole/DefaultPolicy AwsSolutions-IAM5[Resource::*]',
        ].sort(),
      );
    });
  });
});

/**
 * A pipeline of three steps: an analytic (the worker's definition), a command in an image of its own
 * (an ECR one, with resources, attempts and a retry rule) and a bare one in the worker's image.
 */
const FILLS_EXPORT = definePipeline({
  name: 'fills-export',
  description: 'Exports the fills after their TCA, then says so.',
  trigger: { datasets: ['executions'] },
  steps: [
    { name: 'tca', analytic: 'tca', fanOut: 'partitions' },
    {
      name: 'export',
      command: ['desk-export', '--all'],
      image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/desk-tools:1.4.2',
      vcpus: 2,
      memoryMiB: 3072,
      attempts: 3,
      timeoutSeconds: 900,
      evaluateOnExit: [{ onExitCode: '3', action: 'EXIT' }],
      dependsOn: ['tca'],
    },
    { name: 'notify', command: ['true'], bare: true, dependsOn: ['export'] },
  ],
});

let lean: (ReturnType<typeof synth> & { config: InfraConfig }) | undefined;
/**
 * The configuration without Spot, NAT gateways or endpoints, deploying {@link FILLS_EXPORT} beside
 * the built-in pipelines (so that one more synth covers both), synthesized once, when first needed.
 */
function variant(): ReturnType<typeof synth> & { config: InfraConfig } {
  const c = parseInfraConfig({ prefix: 'ns-lean', network: { natGateways: 0, vpcEndpoints: false }, compute: { spot: false, minVcpus: 2, onDemandMaxVcpus: 16 } });
  lean ??= { ...synth(c, [FILLS_EXPORT]), config: c };
  return lean;
}

/** Every cdk-nag acknowledgement recorded under `stack`, as `<path> <finding>` (State's exports shortened); each has a reason. */
function acknowledgementsOf(stack: Stack): string[] {
  const found = new Set<string>();
  for (const construct of stack.node.findAll()) {
    for (const entry of construct.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)) {
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        // CDK acknowledges some CloudFormation-schema rules on its own constructs: not ours to list.
        if (!key.replace(/^[^:]+::/, '').startsWith('AwsSolutions-')) continue;
        expect(reason.length).toBeGreaterThan(20);
        found.add(`${construct.node.path} ${shortened(key.replace(/^[^:]+::/, ''))}`);
      }
    }
  }
  return [...found];
}

/** The statements of the policies attached to a role, State's exports shortened to `<State:Bucket>` (unless `raw`). */
function policyStatementsOf(
  template: Template,
  roleLogicalId: string,
  { raw = false }: { raw?: boolean } = {},
): { actions: string[]; resource: string; condition?: unknown }[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resource[];
  const mine = policies.filter((p) => JSON.stringify(p.Properties['Roles']).includes(`"${roleLogicalId}"`));
  return mine.flatMap((p) =>
    ((p.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] }).Statement).flatMap((s) =>
      (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map((r) => ({
        actions: Array.isArray(s.Action) ? s.Action : [s.Action],
        resource: raw ? flattenCfnReference(r) : shortened(flattenCfnReference(r)),
        ...(s.Condition ? { condition: s.Condition } : {}),
      })),
    ),
  );
}

/** State's export, as `<State:Resource>` (the logical id's hash and the export's suffix left off). */
function shortened(value: string): string {
  return value.replace(/State:ExportsOutput(?:FnGetAtt|Ref)([A-Za-z]+?)[0-9A-F]{8}\w*/g, '<State:$1>');
}

/** cdk-nag AwsSolutions findings on one stack of an app already synthesized (its acknowledgements recorded). */
function nagFindings(stack: Stack): string[] {
  return new AwsSolutionsChecks().validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}
