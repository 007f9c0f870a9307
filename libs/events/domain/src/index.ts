export type * from './ports/event-publisher.port.js';
export type * from './ports/message-consumer.port.js';
export * from './ports/dead-letter-queues.port.js';
export * from './ports/put-events.port.js';
export * from './errors.js';
export * from './patterns/index.js';
export * from './size/event-size.js';
export * from './publishing/put-events-publisher.js';
export * from './dead-letters/dead-letter-pages.js';
