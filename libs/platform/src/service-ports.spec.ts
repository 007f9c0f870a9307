import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchClient } from '@aws-sdk/client-batch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CLAIM_CHECK_PREFIX } from '@nightshift/events-domain';
import { LocalEventBus, PutEventsHttpEndpoint } from '@nightshift/events-local';
import { createAwsDocumentClient } from '@nightshift/jobs-dynamodb';
import { S3ObjectStore } from '@nightshift/storage-aws';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsClients } from './aws-clients.js';
import { bindServicePorts, type ServicePortsConfig } from './service-ports.js';

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
