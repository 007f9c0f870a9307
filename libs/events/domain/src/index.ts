export {};
export type * from './ports/event-publisher.port.js';
