export type * from './ports/object-store.port.js';
export * from './errors.js';
export * from './keys.js';
export { PrefixRoutedObjectStore, type ObjectStoreRoute } from './prefix-routed-object-store.js';
