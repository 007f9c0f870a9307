import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { awsErrorMessage, classifyAwsError } from '@nightshift/aws-wire';
import type { DeliveryAttempt, DeliveryAttemptResult, NotificationChannel } from '@nightshift/notifications-domain';

/** SNS errors a later attempt cannot fix: the topic, the request or the permissions are wrong. */
const PERMANENT = new Set(['NotFoundException', 'NotFound', 'AuthorizationErrorException', 'AuthorizationError', 'InvalidParameterException', 'InvalidParameter', 'InvalidParameterValueException', 'InvalidParameterValue', 'InvalidSecurityException', 'InvalidSecurity', 'KMSDisabledException', 'KMSNotFoundException', 'KMSInvalidStateException', 'KMSAccessDeniedException']);

/**
 * The SNS adapter of {@link NotificationChannel} (AWS mode): one Publish per attempt of the same JSON
 * body `{ id, type, time, data }` to the subscription's topic, with message attributes `type` (the
 * detail-type, for subscription filter policies) and `delivery` (the delivery id). A FIFO topic
 * (`.fifo`) gets the delivery id as its deduplication id and the type as its group. SNS
 * authenticates by IAM, so the body is not signed. Throttling, 5xx and network faults are
 * retryable; a missing topic, a refused permission or an invalid request are not.
 */
export class SnsNotificationChannel implements NotificationChannel {
  constructor(
    private readonly sns: SNSClient,
    readonly target: string,
  ) {}

  async deliver(attempt: DeliveryAttempt): Promise<DeliveryAttemptResult> {
    const fifo = this.target.endsWith('.fifo');
    try {
      await this.sns.send(
        new PublishCommand({
          TopicArn: this.target,
          Message: attempt.body,
          Subject: `nightshift: ${attempt.type}`,
          MessageAttributes: {
            type: { DataType: 'String', StringValue: attempt.type },
            delivery: { DataType: 'String', StringValue: attempt.deliveryId },
          },
          ...(fifo ? { MessageDeduplicationId: attempt.deliveryId, MessageGroupId: attempt.type.replace(/[^A-Za-z0-9]/g, '-') } : {}),
        }),
        { abortSignal: attempt.signal },
      );
      return { ok: true };
    } catch (error) {
      const name = (error as { name?: unknown } | null)?.name;
      const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
      const retryable = !(typeof name === 'string' && PERMANENT.has(name)) && classifyAwsError(error) !== 'client';
      return { ok: false, retryable, error: `SNS Publish failed: ${awsErrorMessage(error)}`, ...(typeof status === 'number' ? { status } : {}) };
    }
  }
}
