export { LocalEventBus, type LocalEventBusOptions } from './local-event-bus.js';
export {
  type ReceivedMessage,
  type ReceivedDeadLetter,
  type DeadLetter,
  type DeadLetterBrowseOptions,
  type DeadLetterBrowsePage,
  type ReceiveOptions,
  type QueueStats,
  type QueueBacklog,
} from './messages.js';
export { type QuarantinedFile } from './quarantine.js';
export { entryToEvent, formatEventTime, MAX_DETAIL_DEPTH, validatePutEventsRequest, type EnvelopeContext } from './put-events.js';
export { LocalQueueConsumer } from './local-queue-consumer.js';
export { LocalDeadLetterQueues } from './local-dead-letter-queues.js';
export { LocalBusClient, type LocalBusClientOptions, type LocalBusEmitPayload } from './local-bus-client.js';
export { PutEventsHttpEndpoint, type PutEventsHttpEndpointOptions } from './put-events-endpoint.js';
export { SqsHttpEndpoint, DEAD_LETTER_REASON_ATTRIBUTE, DEAD_LETTERED_AT_ATTRIBUTE, type SqsHttpEndpointOptions } from './sqs-endpoint.js';
export {
  LocalBusError,
  BusClosedError,
  BusDirectoryLockedError,
  UnknownQueueError,
  InvalidQueueNameError,
  InvalidRuleError,
  PutEventsValidationError,
  CorruptMessageFileError,
  InvalidEventError,
  RequestResponseNotSupportedError,
  InvalidEmitError,
} from './errors.js';
