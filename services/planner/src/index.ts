export * from './app.module.js';
export * from './config.js';
export * from './run-engine.js';
