export { EventBridgePutEventsTarget } from './eventbridge-put-events-target.js';
export { EventBridgeRequestError } from './errors.js';
export { SqsMessageConsumer, DEAD_LETTER_REASON_ATTRIBUTE, type SqsMessageConsumerOptions } from './sqs-message-consumer.js';
export { SqsQueueNotFoundError, SqsUnavailableError, SqsConsumerNotReadyError } from './errors.js';
