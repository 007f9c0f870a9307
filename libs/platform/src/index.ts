export * from './config.js';
export * from './aws-clients.js';
export * from './runtime.js';
export * from './service-ports.js';
export * from './standalone.js';
