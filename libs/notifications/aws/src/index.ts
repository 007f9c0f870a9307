export { DynamoDbDeliveryStore, type DynamoDbDeliveryStoreConfig } from './dynamodb-delivery-store.js';
export { SnsNotificationChannel } from './sns-notification-channel.js';
