export * from './app.module.js';
export * from './config.js';
export * from './register-landed-dataset.js';
