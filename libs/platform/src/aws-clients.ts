import { BatchClient } from '@aws-sdk/client-batch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createAwsDocumentClient } from '@nightshift/jobs-dynamodb';

/**
 * The AWS SDK clients of one process, one per service API. Region, credentials and endpoints come
 * from the SDK's standard configuration (AWS_REGION, the default credential chain,
 * `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`), so the same binary runs against AWS or
 * against the embedded platform's AWS-compatible endpoints with no code path of its own.
 */
export interface AwsClients {
  eventBridge: EventBridgeClient;
  sqs: SQSClient;
  s3: S3Client;
  batch: BatchClient;
  logs: CloudWatchLogsClient;
  /** Notifications to SNS topics (reporting); connects only if one is configured. */
  sns: SNSClient;
  dynamo: DynamoDBDocumentClient;
  /** Closes every client's connections. */
  destroy(): void;
}

/** Options of {@link createAwsClients}. */
export interface AwsClientsOptions {
  /** Path-style S3 requests (an endpoint on an IP address, such as the embedded platform's). */
  s3ForcePathStyle?: boolean;
}

/** Creates the process's AWS SDK clients (they connect lazily). */
export function createAwsClients(options: AwsClientsOptions = {}): AwsClients {
  const dynamo = createAwsDocumentClient();
  const clients = {
    eventBridge: new EventBridgeClient({}),
    sqs: new SQSClient({}),
    s3: new S3Client({ forcePathStyle: options.s3ForcePathStyle ?? false }),
    batch: new BatchClient({}),
    logs: new CloudWatchLogsClient({}),
    sns: new SNSClient({}),
    dynamo,
  };
  return {
    ...clients,
    destroy: () => {
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}
