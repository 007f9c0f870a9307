export * from './config.js';
export * from './errors.js';
export * from './run-command.js';
export * from './run-task.js';
