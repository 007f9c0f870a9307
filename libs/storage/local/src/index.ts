export * from './directory-object-store.js';
