export * from './config.js';
export * from './errors.js';
export * from './pipeline-files.js';
export * from './aws-clients.js';
export * from './runtime.js';
export * from './service-ports.js';
export * from './standalone.js';
