/** DI tokens for reporting's ports. */
export const JOB_STORE = Symbol('JobStore');
export const OBJECT_STORE = Symbol('ObjectStore');
export const EVENT_PUBLISHER = Symbol('EventPublisher');
export const CLOCK = Symbol('Clock');
export const REPORT_SECTIONS = Symbol('ReportSections');
export const COMPUTE = Symbol('ComputeEnvironment');
export const JOB_LOGS = Symbol('JobLogs');
/** The bearer-token authenticator of the REST API. */
export const AUTHENTICATOR = Symbol('BearerAuthenticator');
/** Which body each `Idempotency-Key` of `POST /runs` was first used with. */
export const IDEMPOTENCY_KEYS = Symbol('IdempotencyKeys');
/** The pipeline definitions the API describes. */
export const PIPELINES = Symbol('Pipelines');
/** The services' dead-letter queues, for the API's `/dlq` routes. */
export const DEAD_LETTERS = Symbol('DeadLetterQueues');
/** The schedules' cursors and fire records, for the pipelines' schedules the API describes. */
export const SCHEDULE_STATE = Symbol('ScheduleState');
/** The backfills' records, for the API's `/backfills` routes. */
export const BACKFILL_STORE = Symbol('BackfillStore');
/** The notification dispatcher (webhooks, SNS): records deliveries, attempts them, lists them. */
export const NOTIFICATIONS = Symbol('NotificationDispatcher');
