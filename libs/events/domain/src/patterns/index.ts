export { compileEventPattern, matchesEventPattern, validateEventPattern, type EventPattern } from './event-pattern.js';
