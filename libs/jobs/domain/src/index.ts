export * from './model/types.js';
export * from './errors.js';
export type * from './ports/job-store.port.js';
export type * from './ports/compute.port.js';
export type * from './ports/clock.port.js';
