export * from './app.module.js';
export * from './config.js';
export * from './publish-report.js';
export type { RunView } from './api.controller.js';
