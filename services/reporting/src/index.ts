export * from './app.module.js';
export * from './config.js';
export * from './publish-report.js';
export type { RunView } from './api.controller.js';
export * from './auth/api-keys.js';
export { ROLES, type Role, type Principal } from './auth/principal.js';
export * from './errors.js';
