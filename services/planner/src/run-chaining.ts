import type { RunSucceededDetail } from '@nightshift/contracts';
import { attemptOf, type JobStore, type PipelineDefinition, type PlanRequest } from '@nightshift/jobs-domain';

/** Starts (or records as failed) one run of a pipeline: the planner's own start path. */
export type StartRun = (pipeline: PipelineDefinition, dataset: PlanRequest['dataset'], meta: Omit<PlanRequest, 'pipeline' | 'dataset' | 'now'>) => Promise<void>;

/**
 * Chaining: a run that succeeded starts the second stages declared after its pipeline
 * (`trigger.pipelines`), one run each, over the same dataset version and for the same tenant, with
 * the first run as their `upstream` (their manifests list its outputs). The trigger id names the
 * first run and its attempt, so a redelivered Run Succeeded starts nothing twice, and a retried
 * first stage that succeeds on a later attempt starts its second stages then.
 */
export class RunChaining {
  constructor(
    private readonly store: JobStore,
    /** The pipelines a success of a run of this pipeline starts. */
    private readonly after: (pipeline: string) => PipelineDefinition[],
    private readonly start: StartRun,
  ) {}

  /** Starts the second stages of a succeeded run; resolves the names of the pipelines it started. */
  async onRunSucceeded(detail: RunSucceededDetail, traceparent: string): Promise<string[]> {
    const next = this.after(detail.data.pipeline);
    if (next.length === 0) return [];
    const run = await this.store.getRun(detail.data.runId);
    const dataset = run ? await this.store.getDatasetVersion(run.datasetId) : undefined;
    if (!run || !dataset) return [];
    const meta = {
      triggerEventId: `chain:${run.runId}:a${attemptOf(run)}`,
      correlationId: run.correlationId,
      traceparent,
      ...(run.tenant ? { tenant: run.tenant } : {}),
      upstream: { pipeline: run.pipeline, runId: run.runId },
    };
    for (const pipeline of next) await this.start(pipeline, dataset, meta);
    return next.map((p) => p.name);
  }
}
