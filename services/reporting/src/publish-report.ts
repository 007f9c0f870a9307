import { envelope, ReportPublished, runOutputsListingSchema, type RunSucceededDetail } from '@nightshift/contracts';
import type { EventPublisher } from '@nightshift/events-domain';
import type { Clock, JobStore, Report } from '@nightshift/jobs-domain';
import type { ObjectStore } from '@nightshift/storage-domain';

/** What a worker writes for one task (see services/worker). */
export interface TaskOutput {
  analytic: string;
  step: string;
  partition: string;
  result: unknown;
}

/** Merges the partition results of one analytic into one report section, and picks headline figures. */
export interface ReportSection {
  readonly analytic: string;
  merge(partials: unknown[]): unknown;
  headline(merged: unknown): Record<string, number | string | null>;
}

/** The report document written to the object store. */
export interface ReportDocument {
  reportId: string;
  runId: string;
  pipeline: string;
  businessDate: string;
  datasetId: string;
  generatedAt: string;
  partitions: Record<string, string[]>;
  /** Tasks each step ran (steps that run a plain command write no output, so only this says what they did). */
  tasks: Record<string, number>;
  sections: Record<string, unknown>;
  headline: Record<string, number | string | null>;
}

const CONSUMER = 'reporting';

/** The id of a run's report: one report per run. */
export function reportIdFor(runId: string): string {
  return `report-${runId.replace(/^run-/, '')}`;
}

/**
 * Run Succeeded -> read every task's output -> merge per step with its analytic's section ->
 * write the report -> index it -> Report Published. Idempotent per run: the report id and the
 * published event id derive from the run id, and the report object is simply rewritten on replay.
 * Deduplicated per Run Succeeded event id, which carries the run's attempt once a retry reopened it
 * (`run-succeeded-<runId>-a<n>`): a run succeeds at most once, after any number of failed attempts.
 */
export class PublishReport {
  constructor(
    private readonly store: JobStore,
    private readonly objects: ObjectStore,
    private readonly publisher: EventPublisher,
    private readonly sections: readonly ReportSection[],
    private readonly clock: Clock,
  ) {}

  async execute(eventId: string, detail: { metadata: { correlationId: string; tenant?: string }; data: RunSucceededDetail['data'] }, traceparent?: string): Promise<Report | undefined> {
    if (await this.store.isProcessed(CONSUMER, eventId)) return undefined;
    const run = detail.data;
    // The outputs travel by reference (claim-check): the event stays small for 10,000 tasks.
    const listing = runOutputsListingSchema.parse(JSON.parse(Buffer.from(await this.objects.get(run.outputs.key)).toString('utf8')));
    const byStep = new Map<string, TaskOutput[]>();
    for (const out of listing.outputs) {
      const parsed = JSON.parse(Buffer.from(await this.objects.get(out.key)).toString('utf8')) as TaskOutput;
      const list = byStep.get(out.step);
      if (list) list.push(parsed);
      else byStep.set(out.step, [parsed]);
    }
    const sections: Record<string, unknown> = {};
    const partitions: Record<string, string[]> = {};
    let headline: Record<string, number | string | null> = {};
    for (const [step, outputs] of byStep) {
      const analytic = outputs[0]?.analytic ?? step;
      const section = this.sections.find((s) => s.analytic === analytic);
      partitions[step] = outputs.map((o) => o.partition).sort();
      const merged = section ? section.merge(outputs.map((o) => o.result)) : outputs.map((o) => o.result);
      sections[step] = merged;
      if (section) headline = { ...headline, ...section.headline(merged) };
    }
    const reportId = reportIdFor(run.runId);
    const key = `reports/${run.businessDate}/${reportId}.json`;
    const doc: ReportDocument = {
      reportId,
      runId: run.runId,
      pipeline: run.pipeline,
      businessDate: run.businessDate,
      datasetId: run.datasetId,
      generatedAt: this.clock.now().toISOString(),
      partitions,
      tasks: Object.fromEntries(run.steps.map((s) => [s.step, s.tasks])),
      sections,
      headline: Object.keys(headline).length > 0 ? headline : { tasks: run.steps.reduce((n, s) => n + s.tasks, 0) },
    };
    await this.objects.put(key, JSON.stringify(doc, null, 2), 'application/json');
    // The report is its run's tenant's: the stored run decides, not what the event claims.
    const tenant = (await this.store.getRun(run.runId))?.tenant ?? detail.metadata.tenant;
    const report: Report = {
      reportId,
      runId: run.runId,
      pipeline: run.pipeline,
      businessDate: run.businessDate,
      key,
      headline: doc.headline,
      publishedAt: doc.generatedAt,
      ...(tenant ? { tenant } : {}),
    };
    await this.store.putReport(report);
    await this.publisher.publish([
      {
        source: ReportPublished.source,
        detailType: ReportPublished.detailType,
        resources: [reportId, run.runId],
        detail: envelope(
          { reportId, runId: run.runId, pipeline: run.pipeline, businessDate: run.businessDate, key, headline: doc.headline },
          { eventId: `report-published-${run.runId}`, correlationId: detail.metadata.correlationId, occurredAt: this.clock.now(), traceparent, tenant },
        ),
      },
    ]);
    await this.store.markProcessed(CONSUMER, eventId);
    return report;
  }
}
