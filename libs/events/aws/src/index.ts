export { EventBridgePutEventsTarget } from './eventbridge-put-events-target.js';
export { EventBridgeRequestError } from './errors.js';
export { SqsMessageConsumer, DEAD_LETTER_REASON_ATTRIBUTE, DEAD_LETTERED_AT_ATTRIBUTE, type SqsMessageConsumerOptions } from './sqs-message-consumer.js';
export { SqsDeadLetterQueues, type SqsDeadLetterQueuesOptions } from './sqs-dead-letter-queues.js';
export { SqsQueueNotFoundError, SqsUnavailableError, SqsConsumerNotReadyError } from './errors.js';
export { SqsQueueDepths, type SqsQueueDepth } from './sqs-queue-depths.js';
