export { parseRetryAfter, WebhookChannel, type WebhookChannelOptions } from './webhook-channel.js';
