import { limitSchema, pageSchema } from '@nightshift/api-contract';
import { DELIVERY_STATUSES, NOTIFIABLE_EVENTS } from '@nightshift/notifications-domain';
import { z } from 'zod';
import type { ApiRoute } from './routes.js';

/*
 * The notification routes (`/notifications/...`), declared like every other route (routes.ts spreads
 * them into ROUTES, so the OpenAPI document has them): admin only, since subscriptions and
 * deliveries are platform configuration and may concern any tenant. A tenant-bound admin sees its
 * tenant's deliveries only.
 */

const timestamp = z.string().describe('ISO 8601, UTC');

export const notificationDeliverySchema = z
  .object({
    deliveryId: z.string().describe('Stable per event and subscription: the `X-Nightshift-Delivery` header and the body\'s `id`.'),
    subscription: z.string(),
    target: z.string().describe('The webhook URL or SNS topic ARN.'),
    eventId: z.string(),
    type: z.enum(NOTIFIABLE_EVENTS),
    tenant: z.string().optional(),
    status: z.enum(DELIVERY_STATUSES).describe('PENDING: attempts to come; DELIVERED; DEAD: given up on (redeliver to try again).'),
    attempts: z.number().int(),
    nextAttemptAt: timestamp.describe('PENDING: when the next attempt is due.'),
    lastError: z.string().optional(),
    lastStatus: z.number().int().optional().describe("The receiver's last HTTP status."),
    createdAt: timestamp,
    updatedAt: timestamp,
    deliveredAt: timestamp.optional(),
    deadAt: timestamp.optional(),
    redeliveries: z.number().int(),
    body: z.string().optional().describe('The JSON body sent (one delivery only).'),
  })
  .meta({ id: 'NotificationDelivery' });

export const notificationDeliveriesPageSchema = pageSchema(notificationDeliverySchema, 'NotificationDeliveryPage');

export const notificationSubscriptionsSchema = z
  .object({
    items: z.array(
      z.object({
        name: z.string(),
        kind: z.enum(['webhook', 'sns']),
        target: z.string(),
        events: z.union([z.literal('*'), z.array(z.string())]),
        tenant: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'NotificationSubscriptions', description: 'The configured subscriptions, without their secrets.' });

export const deliveryListQuerySchema = z
  .object({
    status: z.enum(DELIVERY_STATUSES).optional().describe('Only deliveries in this status.'),
    tenant: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits or ._-').optional(),
    limit: limitSchema(50, 200),
    cursor: z.string().min(1).max(2048).optional().describe('The `nextCursor` of the previous page.'),
  })
  .strict();

const deliveryParams = z.object({ id: z.string().regex(/^dlv_[0-9a-f]{32}$/, 'must be a delivery id (dlv_ and 32 hex digits)') });

export const NOTIFICATION_ROUTES = {
  listNotificationSubscriptions: {
    operationId: 'listNotificationSubscriptions',
    method: 'GET',
    path: '/notifications/subscriptions',
    summary: 'The configured notification subscriptions (webhooks, SNS topics), without secrets',
    tag: 'operations',
    role: 'admin',
    query: z.object({}).strict(),
    success: { status: 200, description: 'The subscriptions', schema: notificationSubscriptionsSchema },
  },
  listNotificationDeliveries: {
    operationId: 'listNotificationDeliveries',
    method: 'GET',
    path: '/notifications/deliveries',
    summary: 'Notification deliveries, newest first, with status, attempts and the last error',
    description: 'A page may hold fewer than `limit` deliveries and still have a `nextCursor` (filters apply while reading); follow it until it is absent.',
    tag: 'operations',
    role: 'admin',
    query: deliveryListQuerySchema,
    success: { status: 200, description: 'One page of deliveries', schema: notificationDeliveriesPageSchema },
  },
  getNotificationDelivery: {
    operationId: 'getNotificationDelivery',
    method: 'GET',
    path: '/notifications/deliveries/:id',
    summary: 'One notification delivery, with the body it sends',
    tag: 'operations',
    role: 'admin',
    params: deliveryParams,
    query: z.object({}).strict(),
    success: { status: 200, description: 'The delivery', schema: notificationDeliverySchema },
    errors: [404],
  },
  redeliverNotification: {
    operationId: 'redeliverNotification',
    method: 'POST',
    path: '/notifications/deliveries/:id/redeliver',
    summary: 'Put a DEAD delivery back: attempted again from its first attempt',
    description: '409 unless the delivery is DEAD.',
    tag: 'operations',
    role: 'admin',
    params: deliveryParams,
    success: { status: 202, description: 'Accepted: the delivery is PENDING again', schema: notificationDeliverySchema },
    errors: [404, 409],
  },
} as const satisfies Record<string, ApiRoute>;
