/** DI tokens for the planner's ports. */
export const JOB_STORE = Symbol('JobStore');
export const OBJECT_STORE = Symbol('ObjectStore');
export const EVENT_PUBLISHER = Symbol('EventPublisher');
export const COMPUTE = Symbol('ComputeEnvironment');
export const CLOCK = Symbol('Clock');
export const PIPELINES = Symbol('Pipelines');
export const RECONCILE_INTERVAL_MS = Symbol('ReconcileIntervalMs');
export const PLANNER_CORE = Symbol('PlannerCore');
/** The job store's one-off table migrations, done while the planner's module starts, before it takes events. */
export const STORE_MIGRATIONS = Symbol('StoreMigrations');
/** The schedules' cursors and fire records (`ScheduleState`). */
export const SCHEDULE_STATE = Symbol('ScheduleState');
/** What the embedded schedule loop runs with: its interval, and its clock (tests move time). */
export const SCHEDULE_LOOP_OPTIONS = Symbol('ScheduleLoopOptions');
/** The backfills' records (`BackfillStore`). */
export const BACKFILL_STORE = Symbol('BackfillStore');
