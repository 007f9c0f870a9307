export * from './embedded-platform.js';
export * from './sample-day.js';
export * from './console.js';
export * from './config.js';
