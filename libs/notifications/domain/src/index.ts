export { NOTIFIABLE_EVENTS, deliveryIdOf, notificationBody, notificationOf, type NotifiableEvent, type Notification } from './notification.js';
export { loadSubscriptionsFile, parseSubscriptions, subscriptionMatches, type Subscription, type SubscriptionTarget, type SubscriptionsEnvironment } from './subscriptions.js';
export {
  ATTEMPT_HEADER,
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signWebhook,
  verifyWebhookSignature,
  type WebhookVerification,
  type WebhookVerificationResult,
} from './signature.js';
export { backoffDelayMs, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';
export type { DeliveryAttempt, DeliveryAttemptResult, NotificationChannel } from './ports/notification-channel.port.js';
export {
  DELIVERY_STATUSES,
  type Delivery,
  type DeliveryPage,
  type DeliverySettlement,
  type DeliveryStatus,
  type DeliveryStore,
  type NewDelivery,
} from './ports/delivery-store.port.js';
export { NotificationDispatcher, type NotificationDispatcherOptions } from './notification-dispatcher.js';
export {
  DeliveryNotFoundError,
  DeliveryStateError,
  DeliveryStoreUnavailableError,
  formatSubscriptionProblem,
  InvalidSubscriptionsError,
  NotificationError,
  type SubscriptionProblem,
} from './errors.js';
