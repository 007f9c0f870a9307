export type * from './ports/object-store.port.js';
export * from './errors.js';
export * from './keys.js';
