import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchClient } from '@aws-sdk/client-batch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SNSClient } from '@aws-sdk/client-sns';
import { SERVICE_RULES } from '@nightshift/contracts';
import { CLAIM_CHECK_PREFIX } from '@nightshift/events-domain';
import { LocalEventBus, PutEventsHttpEndpoint, SqsHttpEndpoint } from '@nightshift/events-local';
import { createAwsDocumentClient } from '@nightshift/jobs-dynamodb';
import { S3ObjectStore } from '@nightshift/storage-aws';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// events-domain's test fixtures are deliberately not in its public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { anEvent } from '../../events/domain/src/testing/fixtures.js';
import type { AwsClients } from './aws-clients.js';
import { bindServicePorts, serviceQueueNames, type ServicePortsConfig } from './service-ports.js';

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('bindServicePorts in aws mode: the object store on its buckets', () => {
  let fauxqs: FauxqsServer;
  let dir: string;
  let bus: LocalEventBus;
  let endpoint: PutEventsHttpEndpoint;
  let aws: AwsClients;
  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
    for (const bucket of ['ns-results', 'ns-landing', 'ns-claim-checks']) fauxqs.createBucket(bucket);
    dir = await mkdtemp(join(tmpdir(), 'ns-service-ports-'));
    bus = await LocalEventBus.open({ dir, rules: { ingestion: [{ name: 'all', description: '', eventPattern: { source: ['test'] } }] } });
    endpoint = new PutEventsHttpEndpoint({ bus });
    // Only S3 and EventBridge are called here; the other clients are built, never sent a request.
    const clients = {
      s3: new S3Client({ endpoint: fauxqs.address, forcePathStyle: true, region, credentials }),
      eventBridge: new EventBridgeClient({ endpoint: await endpoint.listen(), region, credentials, maxAttempts: 1 }),
      sqs: new SQSClient({ region, credentials }),
      batch: new BatchClient({ region, credentials }),
      logs: new CloudWatchLogsClient({ region, credentials }),
      sns: new SNSClient({ region, credentials }),
      dynamo: createAwsDocumentClient({ region, credentials }),
    };
    aws = { ...clients, destroy: () => Object.values(clients).forEach((c) => c.destroy()) };
  });
  afterAll(async () => {
    aws?.destroy();
    await endpoint?.close();
    await bus?.close();
    await fauxqs?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const config = (buckets: Partial<ServicePortsConfig>): ServicePortsConfig => ({
    mode: 'aws',
    tableName: 'nightshift',
    bucket: 'ns-results',
    s3ForcePathStyle: true,
    eventBusName: 'nightshift',
    queueName: 'ingestion',
    concurrency: 1,
    ...buckets,
  });
  const keysIn = async (bucket: string) => (await new S3ObjectStore(aws.s3, { bucket }).list('')).map((o) => o.key);

  it('claim-checks oversized event details into the claim-check bucket and keeps landing keys in the landing bucket', async () => {
    const ports = bindServicePorts('ingestion', config({ landingBucket: 'ns-landing', claimCheckBucket: 'ns-claim-checks' }), { mode: 'aws', aws });
    await ports.objects.put('landing/oms/2024-05-02/fills.csv', 'a\n1\n');
    await ports.objects.put('runs/r1/plan.json', '{}');
    await ports.publisher.publish([{ source: 'test', detailType: 'Big', detail: { metadata: { eventId: 'e1' }, data: 'x'.repeat(300_000) } }]);

    const [received] = await bus.receive('ingestion', 1);
    const { key } = (received!.event.detail as { claimCheck: { key: string } }).claimCheck;
    expect(key.startsWith(CLAIM_CHECK_PREFIX)).toBe(true);
    expect(await keysIn('ns-claim-checks')).toEqual([key]);
    expect(await keysIn('ns-landing')).toEqual(['landing/oms/2024-05-02/fills.csv']);
    expect(await keysIn('ns-results')).toEqual(['runs/r1/plan.json']);
    expect((await ports.objects.head(key))?.size).toBeGreaterThan(300_000);
  });

  it('binds a plain S3ObjectStore on NIGHTSHIFT_BUCKET when no other bucket differs from it', () => {
    expect(bindServicePorts('ingestion', config({}), { mode: 'aws', aws }).objects).toBeInstanceOf(S3ObjectStore);
    expect(bindServicePorts('ingestion', config({ landingBucket: 'ns-results', claimCheckBucket: 'ns-results' }), { mode: 'aws', aws }).objects).toBeInstanceOf(S3ObjectStore);
  });
});

describe('bindServicePorts: the dead-letter queues of the service queues, in each mode', () => {
  const services = Object.keys(SERVICE_RULES);
  let dir: string;
  let bus: LocalEventBus;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ns-service-ports-dlq-'));
    // As the embedded host opens it: the service queues and one of its own (the console's).
    bus = await LocalEventBus.open({ dir, rules: { ...SERVICE_RULES, console: [] } });
  });
  afterAll(async () => {
    await bus?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const base = { tableName: 'nightshift', s3ForcePathStyle: true, eventBusName: 'nightshift', concurrency: 1 };

  it('embedded, in process: the bus dead letters of the three service queues, not the host queues', async () => {
    const dynamo = createAwsDocumentClient({ region, credentials });
    try {
      const config: ServicePortsConfig = { ...base, mode: 'local', objectStoreDir: dir, queueName: 'reporting' };
      const { deadLetters } = bindServicePorts('reporting', config, { mode: 'local', dynamo, bus });
      expect(deadLetters.queues()).toEqual(services);
      const event = anEvent('planner-poison', { tenant: 'acme' });
      await bus.putDeadLetter('planner', event, 'ValidationError: no such dataset');
      expect((await deadLetters.list('planner')).items).toEqual([
        expect.objectContaining({ queue: 'planner', reason: 'ValidationError: no such dataset', event: expect.objectContaining({ id: event.id, tenant: 'acme' }) }),
      ]);
      await expect(deadLetters.list('console')).rejects.toMatchObject({ name: 'UnknownDeadLetterQueueError', known: services });
      expect(await deadLetters.redrive('planner')).toEqual({ moved: 1 });
      expect((await bus.receive('planner', 10)).map((m) => m.event.id)).toEqual([event.id]);
    } finally {
      dynamo.destroy();
    }
  });

  it('split processes: SQS over the embedded endpoint, the queues by their service names', async () => {
    const endpoint = new SqsHttpEndpoint({ bus });
    const sqs = new SQSClient({ endpoint: await endpoint.listen(), region, credentials, maxAttempts: 1 });
    const aws = awsClientsWith(sqs);
    try {
      const config: ServicePortsConfig = { ...base, mode: 'aws', bucket: 'nightshift', queueName: 'reporting' };
      const { deadLetters } = bindServicePorts('reporting', config, { mode: 'aws', aws });
      expect(deadLetters.queues()).toEqual(services);
      const event = anEvent('ingestion-poison', { tenant: 'acme' });
      await bus.putDeadLetter('ingestion', event, 'BadDataset: unknown table');
      expect((await deadLetters.list('ingestion')).items).toEqual([
        expect.objectContaining({ queue: 'ingestion', reason: 'BadDataset: unknown table', event: expect.objectContaining({ id: event.id, tenant: 'acme' }) }),
      ]);
      expect(await deadLetters.redrive('ingestion')).toEqual({ moved: 1 });
      expect((await bus.receive('ingestion', 10)).map((m) => m.event.id)).toEqual([event.id]);
    } finally {
      aws.destroy();
      await endpoint.close();
    }
  });

  it('AWS: the other services queues by the prefix of its own, as infra names them', async () => {
    const fauxqs = await startFauxqs({ port: 0, logger: false });
    const sqs = new SQSClient({ endpoint: fauxqs.address, region, credentials });
    const aws = awsClientsWith(sqs);
    try {
      for (const name of services) {
        await sqs.send(new CreateQueueCommand({ QueueName: `ns-prod-${name}` }));
        await sqs.send(new CreateQueueCommand({ QueueName: `ns-prod-${name}-dlq` }));
      }
      const config: ServicePortsConfig = { ...base, mode: 'aws', bucket: 'nightshift', queueName: 'ns-prod-planner' };
      const { deadLetters } = bindServicePorts('planner', config, { mode: 'aws', aws });
      expect(deadLetters.queues()).toEqual(services);
      const event = anEvent('reporting-poison', { tenant: 'acme' });
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'ns-prod-reporting-dlq' }));
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(event) }));
      expect((await deadLetters.list('reporting')).items.map((d) => [d.queue, d.event?.id])).toEqual([['reporting', event.id]]);
      expect(await deadLetters.depth('planner')).toBe(0);
    } finally {
      aws.destroy();
      await fauxqs.stop();
    }
  });

  it('derives the queue names from the service own: prefixed, bare, or only its own', () => {
    expect(serviceQueueNames('reporting', 'nightshift-reporting')).toEqual({
      ingestion: 'nightshift-ingestion',
      planner: 'nightshift-planner',
      reporting: 'nightshift-reporting',
    });
    expect(serviceQueueNames('planner', 'planner')).toEqual({ ingestion: 'ingestion', planner: 'planner', reporting: 'reporting' });
    expect(serviceQueueNames('planner', 'jobs-queue')).toEqual({ planner: 'jobs-queue' });
  });
});

/** AWS clients whose SQS is `sqs`; the others are built and never sent a request. */
function awsClientsWith(sqs: SQSClient): AwsClients {
  const clients = {
    s3: new S3Client({ region, credentials }),
    eventBridge: new EventBridgeClient({ region, credentials }),
    sqs,
    batch: new BatchClient({ region, credentials }),
    logs: new CloudWatchLogsClient({ region, credentials }),
    sns: new SNSClient({ region, credentials }),
    dynamo: createAwsDocumentClient({ region, credentials }),
  };
  return { ...clients, destroy: () => Object.values(clients).forEach((c) => c.destroy()) };
}
