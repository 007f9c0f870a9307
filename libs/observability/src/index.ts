export * from './tracing.js';
export * from './trace-file.js';
export * from './metrics.js';
export * from './logger.js';
