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
import { NotFoundError, tenantOf, type Clock, type DatasetVersion, type JobStore, type LandingOutcome } from '@nightshift/jobs-domain';
import { symbolOfFile } from '@nightshift/analytics';
import { InvalidObjectKeyError, type ObjectInfo, type ObjectStore } from '@nightshift/storage-domain';

/**
 * Checks one data file of a known table (a local path); reports every bad row with its line.
 * `symbol`: the file is that one symbol's part of its table (its key's `symbol=` directory), so
 * each row must have it.
 */
export type TableFileValidator = (table: DatasetTable, path: string, options: { symbol?: string | undefined }) => Promise<{ rows: number; problems: DataProblem[] }>;

export type RegistrationOutcome =
  | { kind: 'registered'; dataset: DatasetVersion }
  /** The landing's content is that of a version already registered: nothing new, nothing started. */
  | { kind: 'already-registered'; dataset: DatasetVersion }
  | { kind: 'rejected'; reasons: DataProblem[] }
  | { kind: 'duplicate' };

const CONSUMER = 'ingestion';

/**
 * Dataset Landed -> validate every file -> register a new dataset version -> Dataset Registered,
 * or Dataset Rejected with every problem found (field paths, files, line numbers, never file
 * content; a key the object store refuses is one of them). Nothing is registered for a rejected
 * dataset.
 *
 * Every outcome is recorded in the job store before its event is published, so the landing's
 * sender can ask for it (`getLanding`): a registration is its own record, a rejection (reasons,
 * tenant) and an "already registered" answer are recorded as such. Idempotent per landed event id:
 * a redelivery finds the recorded outcome and carries it out again (manifest, then the same event
 * under the same event id) without deciding anew or writing a new record, even if the files
 * changed since; so a crash anywhere after the decision loses nothing.
 *
 * The version is the landing's tenant's (`detail.tenant`; none is the default tenant), and so is
 * every run planned over it.
 *
 * Idempotent by content too, per tenant: a landing whose files (table, desk, checksum) are those of
 * a version its tenant already registered for the dataset and date is answered with a Dataset Registered of that version,
 * `alreadyRegistered: true`, under that version's own registration event id, so the planner (whose
 * run ids derive from it) starts nothing new; `force: true` in the detail registers a new version.
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
    const decided = await this.store.getLanding(event.id);
    if (decided) return this.carryOut(event, decided, traceparent);

    const parsed = DatasetLanded.detail.safeParse(event.detail);
    const raw = (typeof event.detail === 'object' && event.detail ? event.detail : {}) as Record<string, unknown>;
    if (!parsed.success) return this.reject(event, issuesToProblems(parsed.error.issues), raw, traceparent);
    const detail = parsed.data;
    const located = await this.locateFiles(detail);
    if (located.problems.length > 0) return this.reject(event, located.problems, raw, traceparent);
    if (!detail.force) {
      const existing = await this.versionWithContent(detail, located.infos);
      if (existing) {
        await this.store.recordLandingAccepted({
          landedEventId: event.id,
          ...(detail.tenant ? { tenant: detail.tenant } : {}),
          datasetId: existing.datasetId,
          at: this.clock.now().toISOString(),
          alreadyRegistered: true,
        });
        return this.answerRegistered(event, existing, traceparent, true);
      }
    }
    const { files, problems } = await this.inspectFiles(detail, located.infos);
    if (problems.length > 0) return this.reject(event, problems, raw, traceparent);
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
      ...(detail.tenant ? { tenant: detail.tenant } : {}),
    });
    return this.answerRegistered(event, dataset, traceparent, false);
  }

  /** The outcome a delivery of this landing decided and recorded, carried out again. */
  private async carryOut(event: EventBridgeEvent, decided: LandingOutcome, traceparent: string | undefined): Promise<RegistrationOutcome> {
    if (decided.status === 'REJECTED') {
      const { reasons, dataset, businessDate, tenant } = decided;
      await this.publishRejected(event, { reasons, ...(dataset === undefined ? {} : { dataset }), ...(businessDate === undefined ? {} : { businessDate }) }, traceparent, tenant);
      await this.store.markProcessed(CONSUMER, event.id);
      return { kind: 'rejected', reasons };
    }
    const dataset = await this.store.getDatasetVersion(decided.datasetId);
    // Versions are never deleted: one a landing was answered with is always there.
    if (!dataset) throw new NotFoundError('dataset version', decided.datasetId);
    return this.answerRegistered(event, dataset, traceparent, decided.alreadyRegistered === true);
  }

  /**
   * A new version's manifest (rewritten as it was on a redelivery: a crash may have come first),
   * then Dataset Registered, then the landing counts as processed.
   */
  private async answerRegistered(event: EventBridgeEvent, dataset: DatasetVersion, traceparent: string | undefined, already: boolean): Promise<RegistrationOutcome> {
    if (!already) await this.objects.put(dataset.manifestKey, JSON.stringify(dataset, null, 2), 'application/json');
    await this.publishRegistered(event, dataset, traceparent, already);
    await this.store.markProcessed(CONSUMER, event.id);
    return already ? { kind: 'already-registered', dataset } : { kind: 'registered', dataset };
  }

  /**
   * Dataset Registered for `dataset`. A new version's event id derives from this landing; an
   * already registered one's is that version's own registration event id (see the class comment),
   * this landing being its correlation id either way. Its tenant is the version's.
   */
  private async publishRegistered(event: EventBridgeEvent, dataset: DatasetVersion, traceparent: string | undefined, already: boolean): Promise<void> {
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
            ...(already ? { alreadyRegistered: true as const } : {}),
          },
          {
            eventId: `dataset-registered-${already ? dataset.landedEventId : event.id}`,
            correlationId: event.id,
            occurredAt: this.clock.now(),
            traceparent,
            tenant: dataset.tenant,
          },
        ),
      },
    ]);
  }

  /** Every file must be in the object store under a key it accepts; its size and checksum, or the problems. */
  private async locateFiles(detail: DatasetLandedDetail): Promise<{ infos: ObjectInfo[]; problems: DataProblem[] }> {
    const infos: ObjectInfo[] = [];
    const problems: DataProblem[] = [];
    for (const [i, f] of detail.files.entries()) {
      try {
        const info = await this.objects.head(f.key);
        if (info) infos.push(info);
        else problems.push({ path: `detail.files.${i}.key`, file: f.key, message: 'file not found in the object store' });
      } catch (e) {
        if (!(e instanceof InvalidObjectKeyError)) throw e;
        problems.push({ path: `detail.files.${i}.key`, file: f.key, message: `the object store refuses the key: ${e.reason}` });
      }
    }
    return { infos, problems };
  }

  /**
   * The landing tenant's registered version of the dataset and date whose files are the landing's
   * (same table, desk and checksum each, keys aside), newest first; undefined when none is. Another
   * tenant's version never answers: identical files landed by another tenant are its own version.
   * Reads the versions of the day (a few) from the tenant's latest down, by the id format the job
   * store defines.
   */
  private async versionWithContent(detail: DatasetLandedDetail, infos: readonly ObjectInfo[]): Promise<DatasetVersion | undefined> {
    const tenant = tenantOf(detail);
    const latest = await this.store.latestDatasetVersion(detail.dataset, detail.businessDate, { tenant });
    if (!latest) return undefined;
    const wanted = contentOf(detail.files.map((f, i) => ({ table: f.table, desk: f.desk, checksum: infos[i]!.sha256 })));
    for (let v = latest.version; v >= 1; v--) {
      const version = v === latest.version ? latest : await this.store.getDatasetVersion(`${detail.dataset}@${detail.businessDate}#v${v}`);
      if (version && tenantOf(version) === tenant && contentOf(version.files) === wanted) return version;
    }
    return undefined;
  }

  /** Every file must pass its table's schema; all problems are collected (without file content), not just the first. */
  private async inspectFiles(detail: DatasetLandedDetail, infos: readonly ObjectInfo[]): Promise<{ files: RegisteredFile[]; problems: DataProblem[] }> {
    const files: RegisteredFile[] = [];
    const problems: DataProblem[] = [];
    for (const [i, f] of detail.files.entries()) {
      const info = infos[i]!;
      let result: { rows: number; problems: DataProblem[] };
      try {
        result = await this.validateStaged(f.table, f.key);
      } catch (e) {
        // A link planted after `locateFiles` looked.
        if (!(e instanceof InvalidObjectKeyError)) throw e;
        problems.push({ path: `detail.files.${i}.key`, file: f.key, message: `the object store refuses the key: ${e.reason}` });
        continue;
      }
      for (const p of result.problems) problems.push({ ...p, file: f.key });
      files.push({ table: f.table, key: f.key, ...(f.desk ? { desk: f.desk } : {}), rows: result.rows, checksum: info.sha256, bytes: info.size });
    }
    return { files, problems };
  }

  /** Validates the object from a local file (DuckDB reads no `s3://`), staged into a scratch directory removed afterwards. */
  private async validateStaged(table: DatasetTable, key: string): Promise<{ rows: number; problems: DataProblem[] }> {
    const scratch = await mkdtemp(join(tmpdir(), 'nightshift-ingest-'));
    try {
      return await this.validateFile(table, await this.objects.localFile(key, scratch), { symbol: symbolOfFile(key) });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * Records the rejection (the dataset, date and tenant of the detail as far as they are strings,
   * even when they are what is wrong: the sender is told under its tenant), publishes it, and
   * counts the landing as processed.
   */
  private async reject(event: EventBridgeEvent, reasons: DataProblem[], raw: Record<string, unknown>, traceparent?: string): Promise<RegistrationOutcome> {
    const named = {
      ...(typeof raw['dataset'] === 'string' ? { dataset: raw['dataset'] } : {}),
      ...(typeof raw['businessDate'] === 'string' ? { businessDate: raw['businessDate'] } : {}),
    };
    const tenant = typeof raw['tenant'] === 'string' && raw['tenant'] !== '' ? raw['tenant'] : undefined;
    await this.store.recordLandingRejected({ landedEventId: event.id, ...(tenant ? { tenant } : {}), ...named, reasons, rejectedAt: this.clock.now().toISOString() });
    await this.publishRejected(event, { ...named, reasons }, traceparent, tenant);
    await this.store.markProcessed(CONSUMER, event.id);
    return { kind: 'rejected', reasons };
  }

  private async publishRejected(
    event: EventBridgeEvent,
    data: { dataset?: string; businessDate?: string; reasons: DataProblem[] },
    traceparent: string | undefined,
    tenant: string | undefined,
  ): Promise<void> {
    await this.publisher.publish([
      {
        source: DatasetRejected.source,
        detailType: DatasetRejected.detailType,
        detail: envelope(
          { landedEventId: event.id, ...data },
          { eventId: `dataset-rejected-${event.id}`, correlationId: event.id, occurredAt: this.clock.now(), traceparent, tenant },
        ),
      },
    ]);
  }
}

/** A version's content, keys aside: its files' (table, desk, checksum), in one canonical order. */
function contentOf(files: ReadonlyArray<{ table: string; desk?: string | undefined; checksum: string }>): string {
  return JSON.stringify(files.map((f) => [f.table, f.desk ?? '', f.checksum]).sort((a, b) => a.join('\0').localeCompare(b.join('\0'))));
}
