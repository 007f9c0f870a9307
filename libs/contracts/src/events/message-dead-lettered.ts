import { z } from 'zod';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/**
 * Message Dead-Lettered: the embedded bus moved a message of a service's queue to that queue's DLQ
 * (its receives ran out, or its handler failed with an error that retrying cannot fix). Published by
 * the bus itself, once per arrival, so notifications can tell someone; `metadata.tenant` and
 * `metadata.correlationId` are the dead message's own. The bus never announces the dead-lettering of
 * a Message Dead-Lettered event (no loop). In AWS, SQS moves messages to a DLQ without an event: a
 * CloudWatch alarm on the DLQ's depth is the native signal there.
 */
export const MessageDeadLettered = {
  source: NightshiftSource.bus,
  detailType: 'Message Dead-Lettered',
  version: '1',
  detail: detailEnvelope(
    z.object({
      /** The service queue the message left (`planner`). */
      queue: z.string().min(1),
      /** The DLQ it is in now (`planner-dlq`). */
      deadLetterQueue: z.string().min(1),
      /** The message's id in the DLQ (what `GET /dlq` lists). */
      messageId: z.string().min(1),
      /** The dead event's own id, detail-type and source. */
      eventId: z.string().min(1),
      eventDetailType: z.string().min(1),
      eventSource: z.string().min(1),
      /** Why it was dead-lettered: the last handler error, or the reason given. */
      reason: z.string(),
      /** Deliveries it had. */
      receiveCount: z.number().int().nonnegative(),
      deadLetteredAt: z.string().datetime({ offset: true }),
    }),
  ),
} as const;
export type MessageDeadLetteredDetail = z.infer<typeof MessageDeadLettered.detail>;
