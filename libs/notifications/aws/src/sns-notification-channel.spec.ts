import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SNSClient } from '@aws-sdk/client-sns';
import { notificationBody, type DeliveryAttempt } from '@nightshift/notifications-domain';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsNotificationChannel } from './sns-notification-channel.js';

const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
let fauxqs: FauxqsServer;
let sns: SNSClient;
let sqs: SQSClient;

beforeAll(async () => {
  fauxqs = await startFauxqs({ port: 0, logger: false });
  sns = new SNSClient({ endpoint: fauxqs.address, region: 'us-east-1', credentials });
  sqs = new SQSClient({ endpoint: fauxqs.address, region: 'us-east-1', credentials });
});
afterAll(async () => {
  sns.destroy();
  sqs.destroy();
  await fauxqs.stop();
});

function anAttempt(deliveryId: string): DeliveryAttempt {
  const body = notificationBody(deliveryId, {
    eventId: 'evt-1',
    type: 'Dataset Rejected',
    time: '2026-11-27T06:00:00.000Z',
    data: { landedEventId: 'landed-1', dataset: 'executions', reasons: [{ path: 'detail.files', message: 'no fills file' }] },
  });
  return { deliveryId, attempt: 1, type: 'Dataset Rejected', body, signal: AbortSignal.timeout(10_000) };
}

describe('SnsNotificationChannel (fauxqs: SNS fanning out to an SQS queue)', () => {
  it('publishes the notification body to the topic with its type and delivery id as message attributes', async () => {
    const { topicArn } = fauxqs.createTopic('nightshift-notifications');
    const { queueUrl } = fauxqs.createQueue('ops-notifications');
    fauxqs.subscribe({ topic: 'nightshift-notifications', queue: 'ops-notifications' });
    const channel = new SnsNotificationChannel(sns, topicArn);
    expect(channel.target).toBe(topicArn);

    const attempt = anAttempt('dlv_sns_1');
    expect(await channel.deliver(attempt)).toEqual({ ok: true });

    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 5, MaxNumberOfMessages: 1 }));
    expect(received.Messages).toHaveLength(1);
    // Without raw delivery SQS gets SNS's envelope: the body is its Message, the attributes its MessageAttributes.
    const envelope = JSON.parse(received.Messages![0]!.Body!) as { Message: string; TopicArn: string; MessageAttributes: Record<string, { Value: string }> };
    expect(envelope.TopicArn).toBe(topicArn);
    expect(JSON.parse(envelope.Message)).toEqual({ id: 'dlv_sns_1', type: 'Dataset Rejected', time: '2026-11-27T06:00:00.000Z', data: expect.objectContaining({ dataset: 'executions' }) });
    expect(envelope.MessageAttributes['type']!.Value).toBe('Dataset Rejected');
    expect(envelope.MessageAttributes['delivery']!.Value).toBe('dlv_sns_1');
  });

  it('answers a missing topic as a failure that retrying cannot fix', async () => {
    const channel = new SnsNotificationChannel(sns, 'arn:aws:sns:us-east-1:000000000000:no-such-topic');
    const result = await channel.deliver(anAttempt('dlv_sns_2'));
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(!result.ok && result.error).toMatch(/SNS Publish failed/);
  });

  it('answers an unreachable endpoint as a retryable failure', async () => {
    const offline = new SNSClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials, maxAttempts: 1 });
    try {
      const result = await new SnsNotificationChannel(offline, 'arn:aws:sns:us-east-1:000000000000:nightshift-notifications').deliver(anAttempt('dlv_sns_3'));
      expect(result).toMatchObject({ ok: false, retryable: true });
    } finally {
      offline.destroy();
    }
  });
});
