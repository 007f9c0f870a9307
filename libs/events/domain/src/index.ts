export {};
export type * from './ports/event-publisher.port.js';
export * from './errors.js';
export * from './patterns/index.js';
export * from './size/event-size.js';
