import { GetQueueUrlCommand, QueueDoesNotExist, type SQSClient } from '@aws-sdk/client-sqs';
import { classifyAwsError } from '@nightshift/aws-wire';
import { SqsQueueNotFoundError, SqsUnavailableError } from './errors.js';

/*
 * The SQS error mapping both adapters share: `QueueDoesNotExist` is an SqsQueueNotFoundError,
 * throttling, 5xx and network failures an SqsUnavailableError (retryable); anything else (AccessDenied:
 * the role lacks a grant) is returned unchanged, to be rethrown as the SDK raised it.
 */

/** The error to throw for `e`, which SQS `operation` on `queue` (its SQS name) failed with. */
export function sqsFailure(operation: string, e: unknown, queue: string): unknown {
  if (e instanceof QueueDoesNotExist) return new SqsQueueNotFoundError(queue, { cause: e });
  if (classifyAwsError(e) === 'transient') return new SqsUnavailableError(operation, queue, { cause: e });
  return e;
}

/** Runs one SQS call, throwing its failure mapped by {@link sqsFailure}. */
export async function sqsCall<T>(operation: string, queue: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw sqsFailure(operation, e, queue);
  }
}

/** GetQueueUrl of the queue named `name`. */
export async function queueUrlOf(sqs: SQSClient, name: string): Promise<string> {
  const out = await sqsCall('GetQueueUrl', name, () => sqs.send(new GetQueueUrlCommand({ QueueName: name })));
  if (out.QueueUrl === undefined) throw new TypeError(`GetQueueUrl of ${name} answered no QueueUrl`);
  return out.QueueUrl;
}
