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
