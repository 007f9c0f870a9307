export { QueueServer, QUEUE_TRANSPORT, type QueueServerOptions, type QueueServerEvents, type QueueServerStatus } from './queue-server.js';
export { QueueContext } from './queue-context.js';
export { PreserveHandlerErrorFilter } from './preserve-handler-error.filter.js';
