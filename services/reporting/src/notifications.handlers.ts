import { Controller, Inject, Injectable, Logger, UseFilters, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { DatasetRejected, MessageDeadLettered, RunFailed, RunSucceeded, type EventBridgeEvent } from '@nightshift/contracts';
import { PreserveHandlerErrorFilter } from '@nightshift/events-nest';
import { notificationOf, type NotificationDispatcher } from '@nightshift/notifications-domain';
import { NOTIFICATIONS } from './tokens.js';

/**
 * Transport seam of the notifications: each notifiable event (finished runs, rejected landings,
 * dead-lettered messages) becomes durable deliveries, one per subscription that wants it, before the
 * event is acknowledged; the dispatcher's loop delivers them. Delivery failures never fail the event
 * (they are retried, then DEAD, in the delivery store), so a notification cannot dead-letter itself.
 * Run Succeeded and Run Failed are consumed by ReportingHandlers too: Nest runs both handlers.
 */
@UseFilters(PreserveHandlerErrorFilter)
@Controller()
export class NotificationHandlers {
  constructor(@Inject(NOTIFICATIONS) private readonly notifications: NotificationDispatcher) {}

  @EventPattern(RunSucceeded.detailType)
  onRunSucceeded(@Payload() event: EventBridgeEvent): Promise<void> {
    return this.notify(event);
  }

  @EventPattern(RunFailed.detailType)
  onRunFailed(@Payload() event: EventBridgeEvent): Promise<void> {
    return this.notify(event);
  }

  @EventPattern(DatasetRejected.detailType)
  onDatasetRejected(@Payload() event: EventBridgeEvent): Promise<void> {
    return this.notify(event);
  }

  @EventPattern(MessageDeadLettered.detailType)
  onMessageDeadLettered(@Payload() event: EventBridgeEvent): Promise<void> {
    return this.notify(event);
  }

  private async notify(event: EventBridgeEvent): Promise<void> {
    const notification = notificationOf(event);
    if (notification) await this.notifications.record(notification);
  }
}

/** Runs the dispatcher's delivery loop while the service runs (pending retries of before a restart first). */
@Injectable()
export class NotificationLoop implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('notifications');

  constructor(@Inject(NOTIFICATIONS) private readonly notifications: NotificationDispatcher) {}

  onApplicationBootstrap(): void {
    const subscriptions = this.notifications.describeSubscriptions();
    if (subscriptions.length > 0) this.log.log(`notifying ${subscriptions.map((s) => `${s.name} (${s.target})`).join(', ')}`);
    this.notifications.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.notifications.stop();
  }
}
