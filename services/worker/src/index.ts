export * from './config.js';
export * from './run-task.js';
