import { Controller, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import { DeliveryNotFoundError, DeliveryStateError, type Delivery, type NotificationDispatcher } from '@nightshift/notifications-domain';
import { BearerAuthGuard, Caller, RequireRole } from '../auth/auth.guard.js';
import { tenantScope, type Principal } from '../auth/principal.js';
import { NOTIFICATIONS } from '../tokens.js';
import { conflict, notFound } from './api-problem.js';
import { parseInput, ROUTES } from './routes.js';

/**
 * The notifications' REST routes (declared in notification-routes.ts): the subscriptions, the
 * deliveries with their status, attempts and last error (`?status=DEAD` for the dead-lettered ones),
 * and a redelivery of a DEAD one. Admin only.
 */
@Controller('notifications')
@UseGuards(BearerAuthGuard)
export class NotificationsController {
  constructor(@Inject(NOTIFICATIONS) private readonly notifications: NotificationDispatcher) {}

  @Get('subscriptions')
  @RequireRole('admin')
  subscriptions(@Query() query: unknown) {
    parseInput(ROUTES.listNotificationSubscriptions, { query });
    return { items: this.notifications.describeSubscriptions() };
  }

  @Get('deliveries')
  @RequireRole('admin')
  async deliveries(@Caller() caller: Principal, @Query() query: unknown) {
    const input = parseInput(ROUTES.listNotificationDeliveries, { query }).query;
    const tenant = tenantScope(caller, input.tenant);
    const page = await this.notifications.list({ limit: input.limit, ...(input.status ? { status: input.status } : {}), ...(tenant !== undefined ? { tenant } : {}), ...(input.cursor ? { cursor: input.cursor } : {}) });
    return { items: page.items.map((d) => view(d, false)), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  }

  @Get('deliveries/:id')
  @RequireRole('admin')
  async delivery(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown) {
    const { id } = parseInput(ROUTES.getNotificationDelivery, { params, query }).params;
    const delivery = await this.notifications.get(id);
    if (!delivery || !visibleTo(caller, delivery)) throw notFound(`no notification delivery ${id}`);
    return view(delivery, true);
  }

  @Post('deliveries/:id/redeliver')
  @HttpCode(202)
  @RequireRole('admin')
  async redeliver(@Caller() caller: Principal, @Param() params: unknown) {
    const { id } = parseInput(ROUTES.redeliverNotification, { params }).params;
    try {
      return view(await this.notifications.redeliver(id, (d) => visibleTo(caller, d)), false);
    } catch (error) {
      if (error instanceof DeliveryNotFoundError) throw notFound(error.message);
      if (error instanceof DeliveryStateError) throw conflict(error.message);
      throw error;
    }
  }
}

/** A tenant-bound caller sees its tenant's deliveries only. */
function visibleTo(caller: Principal, delivery: Delivery): boolean {
  return caller.tenant === undefined || caller.tenant === delivery.tenant;
}

/** What the API shows of a delivery: everything but the store's version (the body only for one delivery). */
function view(delivery: Delivery, withBody: boolean) {
  const { version: _version, body, ...rest } = delivery;
  return withBody ? { ...rest, body } : rest;
}
