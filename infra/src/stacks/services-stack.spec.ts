import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ServiceName } from '@nightshift/contracts';
import { BUILT_IN_PIPELINES, definePipeline, type PipelineDefinition } from '@nightshift/jobs-domain';
import { addNightshiftStacks } from '../app.js';
import { parseInfraConfig, type InfraConfig } from '../config.js';
import { JOB_QUEUE_TIERS, jobQueueName, workerJobDefinitionName } from '../names.js';
import { ComputeStack, flattenCfnReference, IMAGE_PIPELINES_DIR, REPOSITORY_ROOT } from './compute-stack.js';
import { MessagingStack } from './messaging-stack.js';
import { ADOT_COLLECTOR_IMAGE, API_PORT, BATCH_READ_ACTIONS, OTLP_ENDPOINT, SERVICE_NAMES, ServicesStack, XRAY_ACTIONS } from './services-stack.js';
import { StateStack } from './state-stack.js';

const CERTIFICATE = 'arn:aws:acm:eu-west-1:123456789012:certificate/0c6c9a4e-1111-2222-3333-444455556666';

// Not the defaults, so that each value is seen to come from the configuration.
const config = parseInfraConfig({
  prefix: 'ns-test',
  services: { cpu: 1024, memoryMiB: 2048, minTasks: 2, maxTasks: 6, backlogPerTask: 50 },
  api: { certificateArn: CERTIFICATE, allowedCidr: '10.20.0.0/16' },
  retention: { logDays: 14 },
});

interface Synthesized {
  app: App;
  stacks: { state: StateStack; messaging: MessagingStack; compute: ComputeStack; services: ServicesStack };
  template: Template;
}

/** One app per configuration: synth stages the repository root once per image, so it is shared by the tests. */
function synth(c: InfraConfig, pipelines?: readonly PipelineDefinition[]): Synthesized {
  // The built-in CloudFormation schema check costs seconds per synth: only the production-shaped test below runs it.
  const app = new App({ builtinCloudFormationValidation: false });
  const state = new StateStack(app, 'State', { config: c });
  const deployed = pipelines ? { pipelines } : {};
  const messaging = new MessagingStack(app, 'Messaging', { config: c, ...deployed });
  const compute = new ComputeStack(app, 'Compute', { config: c, state, ...deployed });
  const services = new ServicesStack(app, 'Services', { config: c, state, messaging, compute });
  return { app, stacks: { state, messaging, compute, services }, template: Template.fromStack(services) };
}

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { actions: string[]; resource: string; condition?: unknown };

/** Every action of the task roles that may have Resource "*": none of them touches data. */
const UNSCOPED_ACTIONS = new Set<string>([...XRAY_ACTIONS, ...BATCH_READ_ACTIONS]);

describe('ServicesStack', () => {
  let s: Synthesized;
  let template: Template;
  const id = (stack: Stack, construct: { node: { defaultChild?: unknown } }): string => stack.getLogicalId(construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);

  /** The resource as the finding ids print it, other stacks' exports shortened to `<Stack:Resource>` (unless `raw`). */
  const statementsOf = (role: iam.IRole, { raw = false }: { raw?: boolean } = {}): Statement[] => {
    const roleId = s.stacks.services.getLogicalId(role.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);
    const policies = (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[]).filter((p) => JSON.stringify(p.Properties['Roles']).includes(`"${roleId}"`));
    return policies.flatMap((p) =>
      (p.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] }).Statement.flatMap((st) =>
        (Array.isArray(st.Resource) ? st.Resource : [st.Resource]).map((r) => ({
          actions: Array.isArray(st.Action) ? st.Action : [st.Action],
          resource: raw ? flattenCfnReference(r) : shortened(flattenCfnReference(r)).replace('arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:', 'batch:'),
          ...(st.Condition ? { condition: st.Condition } : {}),
        })),
      ),
    );
  };
  const actionsOf = (statements: Statement[]): string[] => [...new Set(statements.flatMap((st) => st.actions))].sort();
  const containerOf = (service: ServiceName, name: string): Record<string, unknown> => {
    const task = template.findResources('AWS::ECS::TaskDefinition', { Properties: { Family: `ns-test-${service}` } });
    const [definition] = Object.values(task) as Resource[];
    return (definition.Properties['ContainerDefinitions'] as Record<string, unknown>[]).find((c) => c['Name'] === name)!;
  };
  const environmentOf = (service: ServiceName): Record<string, string> =>
    Object.fromEntries(
      (containerOf(service, service)['Environment'] as { Name: string; Value: unknown }[]).map((e) => [
        e.Name,
        shortened(flattenCfnReference(e.Value)),
      ]),
    );

  beforeAll(() => {
    s = synth(config);
    template = s.template;
  });

  it('runs the services on one cluster with Container Insights, in the private subnets, without public addresses', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterName: 'ns-test', ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
    for (const name of SERVICE_NAMES) {
      template.hasResourceProperties('AWS::ECS::Service', {
        ServiceName: `ns-test-${name}`,
        LaunchType: 'FARGATE',
        DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 }),
        NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
      });
    }
    expect(Object.keys(s.stacks.services.services).sort()).toEqual([...SERVICE_NAMES].sort());
  });

  describe.each(SERVICE_NAMES)('the %s task definition', (name) => {
    it('is the Dockerfile target as an image asset, sized per config, with an init process and a 30 s stop timeout', () => {
      template.hasResourceProperties('AWS::ECS::TaskDefinition', { Family: `ns-test-${name}`, Cpu: '1024', Memory: '2048', RequiresCompatibilities: ['FARGATE'] });
      const app = containerOf(name, name);
      expect(flattenCfnReference(app['Image'])).toMatch(/container-assets-.*:[0-9a-f]{64}$/);
      expect(app).toMatchObject({ Essential: true, StopTimeout: 30, LinuxParameters: { InitProcessEnabled: true } });
    });

    it('has the ADOT collector sidecar (OTLP in on loopback, X-Ray out), started before the app, which sends it its spans', () => {
      const collector = containerOf(name, 'adot-collector');
      expect(collector['Image']).toBe(ADOT_COLLECTOR_IMAGE);
      expect(ADOT_COLLECTOR_IMAGE).toMatch(/^public\.ecr\.aws\/aws-observability\/aws-otel-collector:v\d+\.\d+\.\d+$/);
      expect(collector).toMatchObject({ Essential: false, RestartPolicy: { Enabled: true } });
      const adotConfig = (collector['Environment'] as { Name: string; Value: string }[]).find((e) => e.Name === 'AOT_CONFIG_CONTENT')!.Value;
      expect(adotConfig).toContain('endpoint: 127.0.0.1:4318');
      expect(adotConfig).toMatch(/traces:\n\s+receivers: \[otlp\]\n\s+processors: \[batch\]\n\s+exporters: \[awsxray\]/);
      expect(containerOf(name, name)['DependsOn']).toEqual([{ ContainerName: 'adot-collector', Condition: 'START' }]);
      expect(environmentOf(name)['OTEL_EXPORTER_OTLP_ENDPOINT']).toBe(OTLP_ENDPOINT);
      expect(OTLP_ENDPOINT).toBe('http://127.0.0.1:4318');
    });

    it('logs both containers with awslogs to its own log group, kept for the configured days', () => {
      template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/ecs/ns-test-${name}`, RetentionInDays: 14 });
      for (const container of [name, 'adot-collector']) expect(containerOf(name, container)['LogConfiguration']).toMatchObject({ LogDriver: 'awslogs' });
    });

    it('scales on its queue backlog per running task, between the configured task counts', () => {
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: 2,
        MaxCapacity: 6,
        ScalableDimension: 'ecs:service:DesiredCount',
        ResourceId: { 'Fn::Join': ['', ['service/', { Ref: id(s.stacks.services, s.stacks.services.cluster) }, '/', { 'Fn::GetAtt': [id(s.stacks.services, s.stacks.services.services[name]), 'Name'] }]] },
      });
      const [policy] = Object.values(template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy', { Properties: { PolicyName: `ns-test-${name}-backlog-per-task` } })) as Resource[];
      const tracking = policy.Properties['TargetTrackingScalingPolicyConfiguration'] as { TargetValue: number; CustomizedMetricSpecification: { Metrics: Record<string, unknown>[] } };
      expect(policy.Properties['PolicyType']).toBe('TargetTrackingScaling');
      expect(tracking.TargetValue).toBe(50);
      const [visible, tasks, ratio] = tracking.CustomizedMetricSpecification.Metrics;
      expect(visible).toMatchObject({ Id: 'visible', ReturnData: false, MetricStat: { Stat: 'Sum', Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' } } });
      const queueDimension = (visible['MetricStat'] as { Metric: { Dimensions: { Name: string; Value: unknown }[] } }).Metric.Dimensions;
      expect(queueDimension.map((d) => [d.Name, flattenCfnReference(d.Value)])).toEqual([['QueueName', expect.stringMatching(new RegExp(`^Messaging:ExportsOutputFnGetAtt${name.charAt(0).toUpperCase() + name.slice(1)}Queue\\w+QueueName`))]]);
      expect(tasks).toMatchObject({ Id: 'tasks', ReturnData: false, MetricStat: { Stat: 'Average', Metric: { Namespace: 'ECS/ContainerInsights', MetricName: 'RunningTaskCount' } } });
      expect(ratio).toEqual({ Id: 'backlogPerTask', Expression: 'visible / tasks', Label: expect.any(String), ReturnData: true });
    });

    it('grants no data-plane action on Resource "*"', () => {
      for (const role of [s.stacks.services.services[name].taskDefinition.taskRole, s.stacks.services.services[name].taskDefinition.executionRole!]) {
        const unscoped = statementsOf(role).filter((st) => st.resource === '*').flatMap((st) => st.actions);
        expect(unscoped.filter((a) => !UNSCOPED_ACTIONS.has(a) && a !== 'ecr:GetAuthorizationToken')).toEqual([]);
      }
    });
  });

  describe('task roles', () => {
    const role = (name: ServiceName): iam.IRole => s.stacks.services.services[name].taskDefinition.taskRole;
    const common = (name: string, dlq = `${name}DeadLetters`): Statement[] => [
      { actions: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], resource: `<Messaging:${name}Queue>` },
      { actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], resource: `<Messaging:${dlq}>` },
    ];
    const jobStore = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'];
    const putEvents = (...sources: string[]): Statement => ({ actions: ['events:PutEvents'], resource: '<Messaging:Bus>', condition: { StringEquals: { 'events:source': sources } } });

    it('ingestion: consume its queue, dead-letter, publish as nightshift.ingestion, the job store, read landing/, write datasets/, claim checks', () => {
      expect(statementsOf(role('ingestion'))).toEqual([
        ...common('Ingestion'),
        putEvents('nightshift.ingestion'),
        { actions: jobStore, resource: '<State:JobStore>' },
        { actions: ['s3:GetObject'], resource: '<State:Landing>/landing/*' },
        { actions: ['s3:PutObject'], resource: '<State:Results>/datasets/*' },
        { actions: ['s3:GetObject', 's3:PutObject'], resource: '<State:ClaimChecks>/claim-checks/*' },
        { actions: ['s3:ListBucket'], resource: '<State:Landing>' },
        { actions: ['s3:ListBucket'], resource: '<State:Results>' },
        { actions: ['s3:ListBucket'], resource: '<State:ClaimChecks>' },
        { actions: [...XRAY_ACTIONS], resource: '*' },
      ]);
    });

    it('planner: as ingestion for its queue, plus Scan, its run objects, SubmitJob on our queues and job definition, its jobs', () => {
      const statements = statementsOf(role('planner'));
      expect(statements).toEqual([
        ...common('Planner'),
        putEvents('nightshift.planner'),
        { actions: [...jobStore, 'dynamodb:Scan'], resource: '<State:JobStore>' },
        { actions: ['s3:GetObject', 's3:PutObject'], resource: '<State:Results>/runs/*/plan.json' },
        { actions: ['s3:GetObject', 's3:PutObject'], resource: '<State:ClaimChecks>/claim-checks/*' },
        { actions: ['s3:PutObject'], resource: '<State:Results>/runs/*/manifest.json' },
        { actions: ['s3:PutObject'], resource: '<State:Results>/runs/*/outputs.json' },
        { actions: ['s3:ListBucket'], resource: '<State:Results>' },
        { actions: ['s3:ListBucket'], resource: '<State:ClaimChecks>' },
        { actions: [...XRAY_ACTIONS, ...BATCH_READ_ACTIONS], resource: '*' },
        { actions: ['batch:SubmitJob'], resource: '<Compute:HighQueue>' },
        { actions: ['batch:SubmitJob'], resource: '<Compute:DefaultQueue>' },
        { actions: ['batch:SubmitJob'], resource: '<Compute:LowQueue>' },
        { actions: ['batch:SubmitJob'], resource: `batch:job-definition/${workerJobDefinitionName(config)}` },
        { actions: ['batch:SubmitJob'], resource: `batch:job-definition/${workerJobDefinitionName(config)}:*` },
        { actions: ['batch:TagResource', 'batch:TerminateJob', 'batch:CancelJob'], resource: 'batch:job/*' },
      ]);
      expect(actionsOf(statements).filter((a) => a.startsWith('batch:'))).toEqual(
        ['batch:CancelJob', 'batch:DescribeJobs', 'batch:ListJobs', 'batch:SubmitJob', 'batch:TagResource', 'batch:TerminateJob'],
      );
    });

    it("reporting: its queue, publish as nightshift.reporting or nightshift.api, the job store, runs/ and reports/, the worker's logs, every DLQ", () => {
      expect(statementsOf(role('reporting'))).toEqual([
        ...common('Reporting'),
        putEvents('nightshift.reporting', 'nightshift.api'),
        { actions: jobStore, resource: '<State:JobStore>' },
        { actions: ['s3:GetObject'], resource: '<State:Results>/runs/*' },
        { actions: ['s3:GetObject', 's3:PutObject'], resource: '<State:Results>/reports/*' },
        { actions: ['s3:GetObject', 's3:PutObject'], resource: '<State:ClaimChecks>/claim-checks/*' },
        { actions: ['s3:ListBucket'], resource: '<State:Results>' },
        { actions: ['s3:ListBucket'], resource: '<State:ClaimChecks>' },
        { actions: [...XRAY_ACTIONS, ...BATCH_READ_ACTIONS], resource: '*' },
        { actions: ['logs:GetLogEvents'], resource: 'arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<Compute:WorkerLogs>' },
        { actions: ['logs:GetLogEvents'], resource: '<Compute:WorkerLogs>' },
        // GET /dlq and POST /dlq/:queue/redrive: read each service's DLQ, send its messages back to the source queue.
        ...(['Ingestion', 'Planner', 'Reporting'] as const).flatMap((service) => [
          { actions: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], resource: `<Messaging:${service}DeadLetters>` },
          { actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], resource: `<Messaging:${service}Queue>` },
        ]),
      ]);
    });

    /** Each object key a service's code uses, and the State bucket the object store keeps it in. */
    const OBJECT_KEYS: Record<ServiceName, Record<string, 'landing' | 'results' | 'claimChecks'>> = {
      ingestion: { 'landing/*': 'landing', 'datasets/*': 'results', 'claim-checks/*': 'claimChecks' },
      planner: { 'runs/*/plan.json': 'results', 'runs/*/manifest.json': 'results', 'runs/*/outputs.json': 'results', 'claim-checks/*': 'claimChecks' },
      reporting: { 'runs/*': 'results', 'reports/*': 'results', 'claim-checks/*': 'claimChecks' },
    };

    it.each(SERVICE_NAMES)('%s: each object key on the State bucket that holds it, ListBucket on exactly the buckets touched', (name) => {
      const arnOf = (bucket: 'landing' | 'results' | 'claimChecks'): string =>
        `State:ExportsOutputFnGetAtt${s.stacks.state.getLogicalId(s.stacks.state.buckets[bucket].node.defaultChild as s3.CfnBucket)}Arn`;
      const statements = statementsOf(role(name), { raw: true });
      const objects = statements.filter((st) => st.actions.some((a) => a === 's3:GetObject' || a === 's3:PutObject'));
      expect(objects.map((st) => st.resource.replace(/^[^/]*\//, '')).sort()).toEqual(Object.keys(OBJECT_KEYS[name]).sort());
      for (const [key, bucket] of Object.entries(OBJECT_KEYS[name])) {
        const [resource] = objects.filter((st) => st.resource.endsWith(`/${key}`)).map((st) => st.resource);
        expect(resource, `${name} ${key}`).toMatch(new RegExp(`^${arnOf(bucket)}[0-9A-F]{8}/`));
      }
      const touched = [...new Set(Object.values(OBJECT_KEYS[name]))];
      const listed = statements.filter((st) => st.actions.includes('s3:ListBucket'));
      expect(listed.map((st) => st.actions)).toEqual(touched.map(() => ['s3:ListBucket']));
      expect(listed.map((st) => st.resource)).toEqual(touched.map((b) => expect.stringMatching(new RegExp(`^${arnOf(b)}[0-9A-F]{8}$`))));
    });
  });

  describe('environment', () => {
    const common = (name: string): Record<string, string> => ({
      NIGHTSHIFT_MODE: 'aws',
      NIGHTSHIFT_TABLE: '<State:JobStore>',
      NIGHTSHIFT_BUCKET: '<State:Results>',
      NIGHTSHIFT_LANDING_BUCKET: '<State:Landing>',
      NIGHTSHIFT_CLAIM_CHECK_BUCKET: '<State:ClaimChecks>',
      NIGHTSHIFT_EVENT_BUS: '<Messaging:Bus>',
      NIGHTSHIFT_QUEUE: `<Messaging:${name}Queue>`,
      OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_ENDPOINT,
    });

    it('ingestion: the deployment settings and its queue', () => {
      expect(environmentOf('ingestion')).toEqual(common('Ingestion'));
    });

    it('planner: plus the default job queue, the job definition by name, and every queue as fair-share', () => {
      expect(environmentOf('planner')).toEqual({
        ...common('Planner'),
        NIGHTSHIFT_JOB_QUEUE: 'ns-test-default',
        NIGHTSHIFT_JOB_DEFINITION: workerJobDefinitionName(config),
        NIGHTSHIFT_FAIR_SHARE_QUEUES: 'ns-test-high,ns-test-default,ns-test-low',
      });
    });

    it("reporting: plus its port and the worker's log group (no token verification configured: none of the JWT variables)", () => {
      expect(environmentOf('reporting')).toEqual({
        ...common('Reporting'),
        NIGHTSHIFT_HTTP_PORT: String(API_PORT),
        NIGHTSHIFT_HTTP_IDLE_TIMEOUT_MS: '65000',
        NIGHTSHIFT_JOB_LOG_GROUP: '<Compute:WorkerLogs>',
      });
    });

    it('names queues the consumers can find: the DLQ is `<queue>-dlq`, the job queues are names.ts names', () => {
      const messaging = Template.fromStack(s.stacks.messaging);
      for (const name of SERVICE_NAMES) {
        messaging.hasResourceProperties('AWS::SQS::Queue', { QueueName: `ns-test-${name}` });
        messaging.hasResourceProperties('AWS::SQS::Queue', { QueueName: `ns-test-${name}-dlq` });
      }
      const compute = Template.fromStack(s.stacks.compute);
      for (const tier of JOB_QUEUE_TIERS) compute.hasResourceProperties('AWS::Batch::JobQueue', { JobQueueName: jobQueueName(config, tier) });
    });
  });

  describe('the API load balancer', () => {
    it('is internal, in the private subnets, drops invalid headers and writes access logs to its bucket', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Scheme: 'internal',
        LoadBalancerAttributes: Match.arrayWith([
          { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
          { Key: 'access_logs.s3.enabled', Value: 'true' },
          { Key: 'access_logs.s3.bucket', Value: { Ref: Match.stringLikeRegexp('^ApiAccessLogs') } },
          { Key: 'access_logs.s3.prefix', Value: 'api' },
        ]),
      });
      // Shorter than reporting's own idle timeout (65 s): the target never closes a connection the ALB means to reuse.
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        LoadBalancerAttributes: Match.arrayWith([{ Key: 'idle_timeout.timeout_seconds', Value: '60' }]),
      });
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 14, Status: 'Enabled' })] },
      });
    });

    it("lets the region's ELB log delivery write the logs (account in older regions, service principal in newer ones)", () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 's3:PutObject',
              Principal: {
                AWS: { 'Fn::If': ['ElbLogDeliveryByAccount', Match.anyValue(), { Ref: 'AWS::NoValue' }] },
                Service: { 'Fn::If': ['ElbLogDeliveryByAccount', { Ref: 'AWS::NoValue' }, 'logdelivery.elasticloadbalancing.amazonaws.com'] },
              },
            }),
          ]),
        },
      });
      const mapping = template.toJSON()['Mappings']['ElbLogDelivery'] as Record<string, { account: string }>;
      expect(mapping['us-east-1'].account).toBe('127311923021');
      expect(mapping['ap-southeast-5']?.account ?? 'none').toBe('none');
    });

    it('listens on HTTPS with the configured certificate, from the allowed CIDR only', () => {
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Protocol: 'HTTPS',
        Port: 443,
        Certificates: [{ CertificateArn: CERTIFICATE }],
        SslPolicy: Match.stringLikeRegexp('TLS'),
        DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: id(s.stacks.services, s.stacks.services.apiTargetGroup) } }],
      });
      const lbGroup = id(s.stacks.services, s.stacks.services.loadBalancer.connections.securityGroups[0]);
      const [group] = Object.values(template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^nightshift API load balancer') } })) as Resource[];
      expect(group.Properties['SecurityGroupIngress']).toEqual([{ CidrIp: '10.20.0.0/16', FromPort: 443, ToPort: 443, IpProtocol: 'tcp', Description: expect.any(String) }]);
      // Reporting's tasks take the API port from the load balancer's group and nothing else.
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: API_PORT, ToPort: API_PORT, SourceSecurityGroupId: { 'Fn::GetAtt': [lbGroup, 'GroupId'] } });
      template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
    });

    it('warns at synth that reporting has no authentication configured without api.jwksUrl (it would exit 2 at boot)', () => {
      expect(authenticationWarnings(s.stacks.services)).toEqual([expect.stringContaining('no api.jwksUrl')]);
    });

    describe('with api.jwksUrl, jwtIssuer and jwtAudience', () => {
      const api = { jwksUrl: 'https://idp.example.com/.well-known/jwks.json', jwtIssuer: 'https://idp.example.com/', jwtAudience: 'nightshift-api' };
      let jwt: Synthesized;
      beforeAll(() => {
        jwt = synth(parseInfraConfig({ prefix: 'ns-test', api }));
      });
      const environment = (service: ServiceName): Record<string, unknown> => {
        const [definition] = Object.values(jwt.template.findResources('AWS::ECS::TaskDefinition', { Properties: { Family: `ns-test-${service}` } })) as Resource[];
        const app = (definition.Properties['ContainerDefinitions'] as Record<string, unknown>[]).find((c) => c['Name'] === service)!;
        return Object.fromEntries((app['Environment'] as { Name: string; Value: unknown }[]).map((e) => [e.Name, shortened(flattenCfnReference(e.Value))]));
      };

      it("gives reporting the JWKS URL, issuer and audience it verifies bearer tokens with, on top of its usual environment", () => {
        expect(environment('reporting')).toEqual({
          NIGHTSHIFT_MODE: 'aws',
          NIGHTSHIFT_TABLE: '<State:JobStore>',
          NIGHTSHIFT_BUCKET: '<State:Results>',
          NIGHTSHIFT_LANDING_BUCKET: '<State:Landing>',
          NIGHTSHIFT_CLAIM_CHECK_BUCKET: '<State:ClaimChecks>',
          NIGHTSHIFT_EVENT_BUS: '<Messaging:Bus>',
          NIGHTSHIFT_QUEUE: '<Messaging:ReportingQueue>',
          OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_ENDPOINT,
          NIGHTSHIFT_HTTP_PORT: String(API_PORT),
          NIGHTSHIFT_HTTP_IDLE_TIMEOUT_MS: '65000',
          NIGHTSHIFT_JOB_LOG_GROUP: '<Compute:WorkerLogs>',
          NIGHTSHIFT_JWKS_URL: api.jwksUrl,
          NIGHTSHIFT_JWT_ISSUER: api.jwtIssuer,
          NIGHTSHIFT_JWT_AUDIENCE: api.jwtAudience,
        });
      });

      it('gives them to reporting only', () => {
        for (const name of ['ingestion', 'planner'] as const) {
          expect(Object.keys(environment(name)).filter((k) => k.includes('JWT') || k.includes('JWKS')), name).toEqual([]);
        }
      });

      it('does not warn about authentication', () => {
        expect(authenticationWarnings(jwt.stacks.services)).toEqual([]);
      });
    });

    it("forwards to reporting's tasks on the API port, health-checked on /health, draining in 30 s", () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        TargetType: 'ip',
        Protocol: 'HTTP',
        Port: API_PORT,
        HealthCheckPath: '/health',
        Matcher: { HttpCode: '200' },
        TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
      });
      template.hasResourceProperties('AWS::ECS::Service', {
        ServiceName: 'ns-test-reporting',
        LoadBalancers: [{ ContainerName: 'reporting', ContainerPort: API_PORT, TargetGroupArn: { Ref: id(s.stacks.services, s.stacks.services.apiTargetGroup) } }],
      });
      expect(containerOf('reporting', 'reporting')['PortMappings']).toEqual([{ ContainerPort: API_PORT, Protocol: 'tcp' }]);
    });

    describe('without a certificate', () => {
      let http: Synthesized;
      beforeAll(() => {
        http = synth(parseInfraConfig({ prefix: 'ns-test', api: { allowedCidr: '10.30.0.0/16' } }));
      });

      it('listens on plain HTTP from the allowed CIDR, and says so at synth', () => {
        http.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Protocol: 'HTTP', Port: 80 });
        http.template.hasResourceProperties('AWS::EC2::SecurityGroup', {
          SecurityGroupIngress: [{ CidrIp: '10.30.0.0/16', FromPort: 80, ToPort: 80, IpProtocol: 'tcp', Description: Match.anyValue() }],
        });
        const warnings = http.stacks.services.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data)));
        expect(warnings.some((w) => w.includes('plain HTTP'))).toBe(true);
      });

      it('has no unacknowledged cdk-nag finding either', () => {
        expect(nagFindings(http.stacks.services)).toEqual([]);
      });
    });
  });

  describe('with pipeline files (config.pipelinesDir) holding command steps, more than an inline policy holds', () => {
    // Any directory inside the repository: this stack only names it (the CDK app reads it, deployedPipelines).
    const pipelinesDir = join(REPOSITORY_ROOT, 'docs', 'examples', 'pipelines');
    const ARCHIVE = definePipeline({
      name: 'fills-archive',
      description: 'Archives the fills.',
      trigger: { datasets: ['executions'] },
      steps: [{ name: 'archive', command: ['archive-fills'], image: 'public.ecr.aws/docker/library/alpine:3.20' }],
    });
    /** Enough command steps that the planner's grants outgrow its role's inline policy (CDK's limit: 10,000 characters). */
    const WIDE = definePipeline({
      name: 'desk-exports-of-every-kind',
      description: 'One export per desk report.',
      trigger: { datasets: ['executions'] },
      steps: Array.from({ length: 40 }, (_, i) => ({ name: `export-desk-report-number-${i}`, command: ['desk-export', String(i)] })),
    });
    const definitionNames = () => ['nightshift-fills-archive-archive', ...WIDE.steps.map((st) => `nightshift-desk-exports-of-every-kind-${st.name}`)];
    let files: Synthesized;
    beforeAll(() => {
      // A config is parsed without it: loadInfraConfig adds it from the context or environment.
      files = synth({ ...parseInfraConfig({ prefix: 'ns-test', api: { allowedCidr: '10.30.0.0/16' } }), pipelinesDir }, [...BUILT_IN_PIPELINES, ARCHIVE, WIDE]);
    });
    /** The planner task role's policies, inline and the managed ones CDK moves the overflow to. */
    const plannerPolicies = (): Resource[] => {
      const { services } = files.stacks;
      const role = services.getLogicalId(services.services.planner.taskDefinition.taskRole.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);
      return ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']
        .flatMap((type) => Object.values(files.template.findResources(type)) as Resource[])
        .filter((p) => JSON.stringify(p.Properties['Roles']).includes(`"${role}"`));
    };
    const environment = (service: ServiceName): Record<string, unknown> => {
      const [definition] = Object.values(files.template.findResources('AWS::ECS::TaskDefinition', { Properties: { Family: `ns-test-${service}` } })) as Resource[];
      const app = (definition.Properties['ContainerDefinitions'] as Record<string, unknown>[]).find((c) => c['Name'] === service)!;
      return Object.fromEntries((app['Environment'] as { Name: string; Value: unknown }[]).map((e) => [e.Name, flattenCfnReference(e.Value)]));
    };

    it('points the planner and reporting, and only them, at the copy of the files their images carry', () => {
      expect(environment('planner')['NIGHTSHIFT_PIPELINES_DIR']).toBe(IMAGE_PIPELINES_DIR);
      expect(environment('reporting')['NIGHTSHIFT_PIPELINES_DIR']).toBe(IMAGE_PIPELINES_DIR);
      expect(environment('ingestion')['NIGHTSHIFT_PIPELINES_DIR']).toBeUndefined();
      expect(IMAGE_PIPELINES_DIR).toBe('/app/pipelines');
      // Without config.pipelinesDir none does (the images carry the root pipelines/ directory, if any, unread).
      for (const name of SERVICE_NAMES) expect(environmentOf(name)['NIGHTSHIFT_PIPELINES_DIR'], name).toBeUndefined();
    });

    it('builds their images with the directory, relative to the repository root, as the Dockerfile copies it', () => {
      const assembly = files.app.synth();
      const manifest = assembly.artifacts.find((a): a is cxapi.AssetManifestArtifact => a instanceof cxapi.AssetManifestArtifact && a.id === `${files.stacks.services.artifactId}.assets`)!;
      const images = Object.values((JSON.parse(readFileSync(manifest.file, 'utf8')) as { dockerImages: Record<string, { source: { dockerBuildTarget: string; dockerBuildArgs?: Record<string, string> } }> }).dockerImages);
      const argsOf = (target: string) => images.filter((i) => i.source.dockerBuildTarget === target).map((i) => i.source.dockerBuildArgs);
      expect(argsOf('planner')).toEqual([{ NIGHTSHIFT_PIPELINES_SOURCE: 'docs/examples/pipelines' }]);
      expect(argsOf('reporting')).toEqual([{ NIGHTSHIFT_PIPELINES_SOURCE: 'docs/examples/pipelines' }]);
      expect(argsOf('ingestion')).toEqual([undefined]);
    });

    it("lets the planner submit each command step's job definition, by name (every revision), and nothing else new", () => {
      const submitted = plannerPolicies()
        .flatMap((p) => (p.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement)
        .filter((st) => [st.Action].flat().includes('batch:SubmitJob'))
        .flatMap((st) => [st.Resource].flat().map((r) => flattenCfnReference(r).replace('arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:', 'batch:')));
      expect(submitted.filter((r) => r.includes('job-definition')).sort()).toEqual(
        ['ns-test-worker', ...definitionNames()].flatMap((name) => [`batch:job-definition/${name}`, `batch:job-definition/${name}:*`]).sort(),
      );
      expect([...files.stacks.compute.commandJobDefinitions.definitions.keys()].sort()).toEqual(definitionNames().sort());
    });

    it("has no unacknowledged cdk-nag finding, in the overflow managed policies too (each definition's revisions acknowledged)", () => {
      expect(plannerPolicies().filter((p) => p.Type === 'AWS::IAM::ManagedPolicy').length).toBeGreaterThan(0);
      expect(nagFindings(files.stacks.services)).toEqual([]);
      expect(acknowledgementsOf(files.stacks.services).map((a) => a.id)).toContain('AwsSolutions-IAM5[Resource::batch:job-definition/nightshift-fills-archive-archive:*]');
    });
  });

  describe('under cdk-nag AwsSolutions', () => {
    it('has no unacknowledged finding', () => {
      expect(nagFindings(s.stacks.services)).toEqual([]);
    });

    it('acknowledges exactly these findings, each on the narrowest construct, with a reason', () => {
      const acknowledged = acknowledgementsOf(s.stacks.services).map(({ path, id: rule }) => `${path} ${rule}`);
      const perService = (svc: string, keys: string[], star: boolean): string[] => [
        ...keys.map((k) => `Services/${svc}Task/TaskRole/DefaultPolicy AwsSolutions-IAM5[Resource::${k}]`),
        ...(star ? [`Services/${svc}Task/TaskRole/DefaultPolicy AwsSolutions-IAM5[Resource::*]`] : []),
        `Services/${svc}Task/ExecutionRole/DefaultPolicy AwsSolutions-IAM5[Resource::*]`,
        `Services/${svc}Task AwsSolutions-ECS2`,
      ];
      expect(acknowledged.sort()).toEqual(
        [
          ...perService('Ingestion', ['<State:Landing>/landing/*', '<State:Results>/datasets/*', '<State:ClaimChecks>/claim-checks/*'], true),
          ...perService(
            'Planner',
            ['<State:Results>/runs/*/plan.json', '<State:ClaimChecks>/claim-checks/*', '<State:Results>/runs/*/manifest.json', '<State:Results>/runs/*/outputs.json'],
            true,
          ),
          'Services/PlannerTask/TaskRole/DefaultPolicy AwsSolutions-IAM5[Resource::batch:job-definition/ns-test-worker:*]',
          'Services/PlannerTask/TaskRole/DefaultPolicy AwsSolutions-IAM5[Resource::batch:job/*]',
          ...perService('Reporting', ['<State:Results>/runs/*', '<State:Results>/reports/*', '<State:ClaimChecks>/claim-checks/*'], true),
          'Services/Api/AccessLogs AwsSolutions-S1',
        ].sort(),
      );
    });
  });

  describe('in the whole app, as bin/app.ts synthesizes it', () => {
    it('passes the AwsSolutions pack and the CloudFormation schema checks (app.synth throws on a finding)', () => {
      const app = new App({ context: { [cxapi.VALIDATE_AGAINST_DEFAULT_RULES]: true } });
      addNightshiftStacks(app, parseInfraConfig({}));
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      expect(() => app.synth()).not.toThrow();
    });
  });
});

/** Another stack's export, as `<Stack:Resource>` (the logical id's hash and the export's suffix left off). */
function shortened(value: string): string {
  return value.replace(/(State|Messaging|Compute):ExportsOutput(?:FnGetAtt|Ref)([A-Za-z]+?)[0-9A-F]{8}\w*/g, '<$1:$2>');
}

/** The `nightshift:ApiWithoutAuthentication` warnings of a services stack's reporting task definition. */
function authenticationWarnings(stack: ServicesStack): string[] {
  return stack.services.reporting.taskDefinition.node.metadata
    .filter((m) => m.type === 'aws:cdk:warning')
    .map((m) => String(m.data))
    .filter((w) => w.includes('nightshift:ApiWithoutAuthentication'));
}

/** cdk-nag AwsSolutions findings on one stack of an app already synthesized (its acknowledgements recorded). */
function nagFindings(stack: Stack): string[] {
  return new AwsSolutionsChecks().validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}

/** Every acknowledgement recorded under `stack`: where, which finding (other stacks' exports shortened). */
function acknowledgementsOf(stack: Stack): { path: string; id: string; reason: string }[] {
  const seen = new Map<string, { path: string; id: string; reason: string }>();
  for (const construct of stack.node.findAll()) {
    for (const entry of construct.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)) {
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        if (!key.replace(/^[^:]+::/, '').startsWith('AwsSolutions-')) continue;
        const rule = shortened(key.replace(/^[^:]+::/, '')).replace('arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:', 'batch:');
        expect(reason.length).toBeGreaterThan(20);
        seen.set(`${construct.node.path} ${rule}`, { path: construct.node.path, id: rule, reason });
      }
    }
  }
  return [...seen.values()];
}
