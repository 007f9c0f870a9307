import { envelope, ReportPublished, runOutputsListingSchema, type RegisteredFile, type RunSucceededDetail } from '@nightshift/contracts';
import type { EventPublisher } from '@nightshift/events-domain';
import { attemptOf, tenantOf, type Clock, type JobStore, type PipelineDefinition, type Report } from '@nightshift/jobs-domain';
import type { ObjectStore } from '@nightshift/storage-domain';
import { canonicalHash } from './canonical-hash.js';
import { dayOverDay, ReportIndex, type ComparedReport, type DayOverDay } from './day-over-day.js';
import { DEFAULT_REPORT_CURRENCY, formatFigure, reportHeadlineUnits, type HeadlineUnit } from './headline-units.js';

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

/** Where a report's figures come from: the data, the pipeline, the run and the code (see docs/api.md). */
export interface ReportProvenance {
  /** The dataset version the run read, with every file's key and sha256 as ingestion registered them. */
  dataset: {
    datasetId: string;
    dataset?: string;
    version?: number;
    registeredAt?: string;
    manifestKey?: string;
    files: Array<Pick<RegisteredFile, 'table' | 'key' | 'desk' | 'rows' | 'bytes' | 'checksum'>>;
  };
  /** The pipeline, and the sha256 of its definition (canonical JSON, keys sorted) as deployed when the report was published. */
  pipeline: { name: string; definitionHash?: string };
  /** The run and its attempt (1 unless failed tasks were retried). */
  run: { runId: string; attempt: number; correlationId?: string; startedAt: string; finishedAt: string; upstream?: { pipeline: string; runId: string } };
  /** The code that merged and published the report: package version and git commit (see code-version.ts). */
  codeVersion: string;
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
  /** The headline figures, bare (fractions as fractions, money as plain numbers in `currency`). */
  headline: Record<string, number | string | null>;
  /** ISO 4217 code of every money figure: the pipeline's `currency`, USD when it declares none. */
  currency: string;
  /** The unit of each headline figure (money with `currency`). */
  headlineUnits: Record<string, HeadlineUnit>;
  /** Each headline figure as a person reads it, unit included: `8.63 bps`, `92.60 %`, `176,614,486 USD`. */
  headlineText: Record<string, string>;
  provenance: ReportProvenance;
  /** The same pipeline's (and tenant's) report of the latest earlier business date, with each figure's change; null when there is none. */
  previous: DayOverDay | null;
}

/** What PublishReport knows beyond its ports: the deployed pipelines (currency, definition hash) and the code version. */
export interface PublishReportOptions {
  pipelines: readonly PipelineDefinition[];
  codeVersion: string;
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
    private readonly options: PublishReportOptions,
  ) {
    this.index = new ReportIndex(objects);
  }

  private readonly index: ReportIndex;

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
    const stored = await this.store.getRun(run.runId);
    // The report is its run's tenant's: the stored run decides, not what the event claims.
    const tenant = stored?.tenant ?? detail.metadata.tenant;
    const pipeline = this.options.pipelines.find((p) => p.name === run.pipeline);
    const currency = pipeline?.currency ?? DEFAULT_REPORT_CURRENCY;
    const figures = Object.keys(headline).length > 0 ? headline : { tasks: run.steps.reduce((n, s) => n + s.tasks, 0) };
    const units = reportHeadlineUnits(figures, currency);
    const previous = await this.previousReport(tenantOf({ tenant }), run.pipeline, run.businessDate);
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
      headline: figures,
      currency,
      headlineUnits: units,
      headlineText: Object.fromEntries(Object.entries(figures).map(([name, value]) => [name, formatFigure(value, units[name])])),
      provenance: {
        dataset: await this.datasetProvenance(run.datasetId),
        pipeline: { name: run.pipeline, ...(pipeline ? { definitionHash: `sha256:${canonicalHash(pipeline)}` } : {}) },
        run: {
          runId: run.runId,
          attempt: stored ? attemptOf(stored) : 1,
          ...(stored ? { correlationId: stored.correlationId } : {}),
          startedAt: run.startedAt,
          finishedAt: run.finishedAt,
          ...(stored?.upstream ? { upstream: stored.upstream } : {}),
        },
        codeVersion: this.options.codeVersion,
      },
      previous: previous ? dayOverDay({ headline: figures, units, currency }, previous) : null,
    };
    await this.objects.put(key, JSON.stringify(doc, null, 2), 'application/json');
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
    // Indexed once stored, so an index entry always names a report the store has.
    await this.index.add(tenantOf(report), report.pipeline, { reportId, runId: run.runId, businessDate: run.businessDate, publishedAt: report.publishedAt, key });
    await this.publisher.publish([
      {
        source: ReportPublished.source,
        detailType: ReportPublished.detailType,
        resources: [reportId, run.runId],
        detail: envelope(
          { reportId, runId: run.runId, pipeline: run.pipeline, businessDate: run.businessDate, key, headline: doc.headline, currency },
          { eventId: `report-published-${run.runId}`, correlationId: detail.metadata.correlationId, occurredAt: this.clock.now(), traceparent, tenant },
        ),
      },
    ]);
    await this.store.markProcessed(CONSUMER, eventId);
    return report;
  }

  /** The dataset version as ingestion registered it: every file's key and checksum. */
  private async datasetProvenance(datasetId: string): Promise<ReportProvenance['dataset']> {
    const version = await this.store.getDatasetVersion(datasetId);
    if (!version) return { datasetId, files: [] };
    return {
      datasetId,
      dataset: version.dataset,
      version: version.version,
      registeredAt: version.registeredAt,
      manifestKey: version.manifestKey,
      files: version.files.map((f) => ({ table: f.table, key: f.key, ...(f.desk !== undefined ? { desk: f.desk } : {}), rows: f.rows, bytes: f.bytes, checksum: f.checksum })),
    };
  }

  /** The report to compare with: the latest of an earlier business date of the pipeline and tenant, with its currency. */
  private async previousReport(tenant: string, pipeline: string, businessDate: string): Promise<ComparedReport | undefined> {
    const entry = await this.index.previous(tenant, pipeline, businessDate);
    const report = entry && (await this.store.getReport(entry.reportId));
    if (!entry || !report) return undefined;
    const document = JSON.parse(Buffer.from(await this.objects.get(report.key)).toString('utf8')) as { currency?: unknown };
    return {
      reportId: report.reportId,
      runId: report.runId,
      businessDate: report.businessDate,
      publishedAt: report.publishedAt,
      headline: report.headline,
      ...(typeof document.currency === 'string' ? { currency: document.currency } : {}),
    };
  }
}
