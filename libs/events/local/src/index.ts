export {
  LocalEventBus,
  type LocalEventBusOptions,
  type ReceivedMessage,
  type DeadLetter,
  type ReceiveOptions,
  type QueueStats,
} from './local-event-bus.js';
export {
  entryToEvent,
  entrySize,
  formatEventTime,
  validatePutEventsRequest,
  PUT_EVENTS_MAX_ENTRIES,
  PUT_EVENTS_MAX_TOTAL_BYTES,
  type EnvelopeContext,
  type PutEventsRequestEntry,
  type PutEventsResult,
  type PutEventsResultEntry,
  type PutEventsTarget,
} from './put-events.js';
export {
  LocalBusServer,
  LOCAL_BUS_TRANSPORT,
  type LocalBusServerOptions,
  type LocalBusServerEvents,
  type LocalBusServerStatus,
} from './local-bus-server.js';
export { LocalBusContext } from './local-bus-context.js';
export { LocalBusClient, type LocalBusClientOptions, type LocalBusEmitPayload } from './local-bus-client.js';
export { BusEventPublisher, type BusEventPublisherOptions } from './bus-event-publisher.js';
export { PreserveHandlerErrorFilter } from './preserve-handler-error.filter.js';
export { PutEventsHttpEndpoint, type PutEventsHttpEndpointOptions } from './put-events-endpoint.js';
export {
  LocalBusError,
  BusClosedError,
  BusDirectoryLockedError,
  UnknownQueueError,
  InvalidQueueNameError,
  InvalidRuleError,
  PutEventsValidationError,
  CorruptMessageFileError,
  PublishFailedError,
  RequestResponseNotSupportedError,
  InvalidEmitError,
  type FailedEntry,
} from './errors.js';
