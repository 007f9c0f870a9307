/** DI tokens for ingestion's ports. */
export const JOB_STORE = Symbol('JobStore');
export const OBJECT_STORE = Symbol('ObjectStore');
export const EVENT_PUBLISHER = Symbol('EventPublisher');
export const CLOCK = Symbol('Clock');
export const TABLE_FILE_VALIDATOR = Symbol('TableFileValidator');
