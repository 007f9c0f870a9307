import type { EventPublisher } from '@nightshift/events-domain';
import type { Clock, ComputeEnvironment, JobStore, PipelineDefinition } from '@nightshift/jobs-domain';
import type { ObjectStore } from '@nightshift/storage-domain';
import { OutboxRelay } from './outbox-relay.js';
import { PlanCache } from './plan-cache.js';
import { Reconciler, type ReconcilerOptions } from './reconciler.js';
import { RunEngine } from './run-engine.js';
import { RunRetry } from './run-retry.js';
import { StepSubmitter, type SubmitRetry, type WorkerLaunch } from './step-submitter.js';
import { WakeTimers } from './wake-timers.js';

/** The ports the planner's core runs on. */
export interface PlannerPorts {
  store: JobStore;
  objects: ObjectStore;
  compute: ComputeEnvironment;
  publisher: EventPublisher;
  clock: Clock;
}

/** The planner's core settings. */
export interface PlannerCoreOptions extends ReconcilerOptions {
  pipelines: readonly PipelineDefinition[];
  worker: WorkerLaunch;
  submitRetry: SubmitRetry;
}

/** The engine and its collaborators, wired on the given ports. */
export interface PlannerCore {
  engine: RunEngine;
  reconciler: Reconciler;
  /** Retries FAILED runs (Run Retry Requested). */
  retry: RunRetry;
  /** The engine's wake-ups (waits, approval timeouts): stopped with the planner. */
  wakes: WakeTimers;
}

/**
 * Wires the run engine, the submitter, the outbox relay, the reconciler and the retry on the given ports. The
 * planner's module calls it with the adapters its configuration chose; tests call it with theirs.
 */
export function createPlannerCore(ports: PlannerPorts, options: PlannerCoreOptions): PlannerCore {
  const plans = new PlanCache(ports.objects);
  const submitter = new StepSubmitter(ports.store, ports.objects, ports.compute, plans, options.worker, ports.clock, options.submitRetry);
  const outbox = new OutboxRelay(ports.store, ports.compute, ports.publisher);
  const wakes = new WakeTimers();
  const engine = new RunEngine(ports.store, ports.objects, plans, submitter, outbox, options.pipelines, ports.clock, wakes);
  const reconciler = new Reconciler(ports.store, ports.compute, engine, submitter, plans, ports.clock, { claimTimeoutMs: options.claimTimeoutMs });
  const retry = new RunRetry(ports.store, engine, submitter, plans, ports.clock);
  return { engine, reconciler, retry, wakes };
}
