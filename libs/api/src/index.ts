export * from './problem.js';
export * from './resources.js';
export * from './requests.js';
export * from './backfills.js';
