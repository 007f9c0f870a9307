import { BaseRpcContext, type PacketMetadata } from '@nestjs/microservices';
import type { EventBridgeEvent } from '@nightshift/contracts';

type QueueContextArgs = [event: EventBridgeEvent, queue: string, receiveCount: number, messageId: string];

/**
 * The RPC context of a message delivered by {@link QueueServer} (`@Ctx() ctx: QueueContext`).
 * The handler's payload is already the whole event; the context adds the delivery facts a handler
 * may log or branch on (a receive count above 1 means this is a redelivery).
 */
export class QueueContext extends BaseRpcContext<QueueContextArgs> {
  /** The EventBridge event (the same object the handler gets as its payload). */
  getEvent(): EventBridgeEvent {
    return this.args[0];
  }

  /** The queue the message came from. */
  getQueue(): string {
    return this.args[1];
  }

  /** 1 on the first delivery. */
  getReceiveCount(): number {
    return this.args[2];
  }

  /** The queue message id (one event fanned out to several queues has one id per queue). */
  getMessageId(): string {
    return this.args[3];
  }

  /** The pattern the handler was chosen by: the event's `detail-type`. */
  getPattern(): string {
    return this.args[0]['detail-type'];
  }

  /**
   * The string fields of the event's `detail.metadata` (eventId, correlationId, traceparent,
   * tenant...): EventBridge carries no out-of-band headers, so the contract's metadata envelope is
   * where instrumentation finds trace context.
   */
  getMetadata(): PacketMetadata | undefined {
    const detail = this.args[0].detail;
    const metadata = typeof detail === 'object' && detail !== null ? (detail as { metadata?: unknown }).metadata : undefined;
    if (typeof metadata !== 'object' || metadata === null) return undefined;
    const out: PacketMetadata = {};
    for (const [k, v] of Object.entries(metadata)) if (typeof v === 'string') out[k] = v;
    return out;
  }
}
