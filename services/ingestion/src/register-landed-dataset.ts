import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DatasetLanded,
  DatasetRegistered,
  DatasetRejected,
  envelope,
  issuesToProblems,
  type DataProblem,
  type DatasetLandedDetail,
  type DatasetTable,
  type EventBridgeEvent,
  type RegisteredFile,
} from '@nightshift/contracts';
import type { EventPublisher } from '@nightshift/events-domain';
import type { Clock, DatasetVersion, JobStore } from '@nightshift/jobs-domain';
import type { ObjectStore } from '@nightshift/storage-domain';

/** Checks one data file of a known table (a local path); reports every bad row with its line. */
export type TableFileValidator = (table: DatasetTable, path: string) => Promise<{ rows: number; problems: DataProblem[] }>;

export type RegistrationOutcome =
  | { kind: 'registered'; dataset: DatasetVersion }
  | { kind: 'rejected'; reasons: DataProblem[] }
  | { kind: 'duplicate' };

const CONSUMER = 'ingestion';

/**
 * Dataset Landed -> validate every file -> register a new dataset version -> Dataset Registered,
 * or Dataset Rejected with every problem found (field paths, files, line numbers). Nothing is
 * registered for a rejected dataset. Idempotent per landed event id: a redelivery re-emits the same
 * outcome event with the same event id, so a crash between registering and publishing loses nothing.
 */
export class RegisterLandedDataset {
  constructor(
    private readonly store: JobStore,
    private readonly objects: ObjectStore,
    private readonly publisher: EventPublisher,
    private readonly validateFile: TableFileValidator,
    private readonly clock: Clock,
  ) {}

  async execute(event: EventBridgeEvent, traceparent?: string): Promise<RegistrationOutcome> {
    if (await this.store.isProcessed(CONSUMER, event.id)) return { kind: 'duplicate' };
    const parsed = DatasetLanded.detail.safeParse(event.detail);
    const raw = (typeof event.detail === 'object' && event.detail ? event.detail : {}) as Record<string, unknown>;
    if (!parsed.success) {
      const reasons = issuesToProblems(parsed.error.issues);
      await this.reject(event, reasons, raw, traceparent);
      return { kind: 'rejected', reasons };
    }
    const detail = parsed.data;
    const { files, problems } = await this.inspectFiles(detail);
    if (problems.length > 0) {
      await this.reject(event, problems, raw, traceparent, detail.tenant);
      return { kind: 'rejected', reasons: problems };
    }
    const partitions = [...new Set(files.flatMap((f) => (f.desk ? [f.desk] : [])))].sort();
    const manifestKey = `datasets/${detail.dataset}/${detail.businessDate}/${event.id}/manifest.json`;
    const dataset = await this.store.registerDatasetVersion({
      dataset: detail.dataset,
      businessDate: detail.businessDate,
      files,
      rowCount: files.reduce((n, f) => n + f.rows, 0),
      partitions,
      manifestKey,
      landedEventId: event.id,
      registeredAt: this.clock.now().toISOString(),
    });
    await this.objects.put(manifestKey, JSON.stringify(dataset, null, 2), 'application/json');
    await this.publisher.publish([
      {
        source: DatasetRegistered.source,
        detailType: DatasetRegistered.detailType,
        resources: [dataset.datasetId],
        detail: envelope(
          {
            datasetId: dataset.datasetId,
            dataset: dataset.dataset,
            businessDate: dataset.businessDate,
            version: dataset.version,
            files: dataset.files,
            rowCount: dataset.rowCount,
            partitions: dataset.partitions,
            manifestKey: dataset.manifestKey,
          },
          { eventId: `dataset-registered-${event.id}`, correlationId: event.id, occurredAt: this.clock.now(), traceparent, tenant: detail.tenant },
        ),
      },
    ]);
    await this.store.markProcessed(CONSUMER, event.id);
    return { kind: 'registered', dataset };
  }

  /** Every file must exist and pass its table's schema; all problems are collected, not just the first. */
  private async inspectFiles(detail: DatasetLandedDetail): Promise<{ files: RegisteredFile[]; problems: DataProblem[] }> {
    const files: RegisteredFile[] = [];
    const problems: DataProblem[] = [];
    for (const [i, f] of detail.files.entries()) {
      const info = await this.objects.head(f.key);
      if (!info) {
        problems.push({ path: `detail.files.${i}.key`, file: f.key, message: 'file not found in the object store' });
        continue;
      }
      const result = await this.validateStaged(f.table, f.key);
      for (const p of result.problems) problems.push({ ...p, file: f.key });
      files.push({ table: f.table, key: f.key, ...(f.desk ? { desk: f.desk } : {}), rows: result.rows, checksum: info.sha256, bytes: info.size });
    }
    return { files, problems };
  }

  /** Validates the object from a local file (DuckDB reads no `s3://`), staged into a scratch directory removed afterwards. */
  private async validateStaged(table: DatasetTable, key: string): Promise<{ rows: number; problems: DataProblem[] }> {
    const scratch = await mkdtemp(join(tmpdir(), 'nightshift-ingest-'));
    try {
      return await this.validateFile(table, await this.objects.localFile(key, scratch));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private async reject(event: EventBridgeEvent, reasons: DataProblem[], raw: Record<string, unknown>, traceparent?: string, tenant?: string): Promise<void> {
    await this.publisher.publish([
      {
        source: DatasetRejected.source,
        detailType: DatasetRejected.detailType,
        detail: envelope(
          {
            landedEventId: event.id,
            ...(typeof raw['dataset'] === 'string' ? { dataset: raw['dataset'] } : {}),
            ...(typeof raw['businessDate'] === 'string' ? { businessDate: raw['businessDate'] } : {}),
            reasons,
          },
          { eventId: `dataset-rejected-${event.id}`, correlationId: event.id, occurredAt: this.clock.now(), traceparent, tenant },
        ),
      },
    ]);
    await this.store.markProcessed(CONSUMER, event.id);
  }
}
