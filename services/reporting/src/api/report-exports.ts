import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { sqlIdent, sqlString, withDuckDb } from '@nightshift/analytics';
import type { PipelineDefinition } from '@nightshift/jobs-domain';
import { ObjectNotFoundError, type ObjectStore } from '@nightshift/storage-domain';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { sectionKind } from '../graphql/report-sections.js';
import { notFound } from './api-problem.js';
import type { PlatformApi } from './platform-api.js';
import type { ApiRoute } from './routes.js';
import { columnType, sectionTables, toCsv, type SectionTable } from './section-tables.js';

/** Parquet's registered media type (IANA, 2024). */
export const PARQUET_MEDIA_TYPE = 'application/vnd.apache.parquet';
export const CSV_MEDIA_TYPE = 'text/csv';

export const EXPORT_FORMATS = ['csv', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const sectionParams = z.object({
  id: z.string().min(1).max(1024).describe('The report id'),
  section: z.string().min(1).max(63).describe('A section of the report: the step it is of (`tca`, `risk`, ...)'),
});

export const exportQuerySchema = z
  .object({
    format: z.enum(EXPORT_FORMATS).default('csv').describe('`csv` (RFC 4180, a header line) or `parquet`.'),
    table: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be a table name such as by_broker')
      .optional()
      .describe("Which of the section's tables (`GET /reports/{id}/sections` lists them); its first when absent."),
  })
  .strict();

/** The detail files a TCA partition publishes beside its result: one row per order, one per effective fill. */
export const DETAIL_TABLES = ['orders', 'fills'] as const;
export type DetailTable = (typeof DETAIL_TABLES)[number];

const detailParams = sectionParams.extend({
  partition: z.string().min(1).max(256).describe('The partition (a desk) whose detail it is, as `GET /reports/{id}/sections` lists it'),
  table: z.enum(DETAIL_TABLES).describe('`orders` (one row per order) or `fills` (one row per effective fill)'),
});

export const detailQuerySchema = z
  .object({ format: z.enum(EXPORT_FORMATS).default('parquet').describe('`parquet` (the stored file, as written) or `csv`.') })
  .strict();

export const reportSectionsSchema = z
  .object({
    items: z.array(
      z.object({
        section: z.string(),
        kind: z.string().describe('tca, execution, risk, performance, backtest or untyped'),
        tables: z.array(
          z.object({
            name: z.string(),
            rows: z.number().int(),
            columns: z.array(z.string()),
            csv: z.string().describe('The API path of the table as CSV.'),
            parquet: z.string().describe('The API path of the table as Parquet.'),
          }),
        ),
        detail: z
          .array(
            z.object({
              partition: z.string(),
              table: z.enum(DETAIL_TABLES),
              parquet: z.string().describe('The API path of the file as stored (Parquet).'),
              csv: z.string().describe('The API path of the file as CSV.'),
            }),
          )
          .describe("Per-order and per-fill detail files of the section's partitions (TCA); empty when none was published."),
      }),
    ),
  })
  .meta({ id: 'ReportSections', description: "A report's sections and the tables each exports (a section without tables has none)." });

export const REPORT_EXPORT_ROUTES = {
  listReportSections: {
    operationId: 'listReportSections',
    method: 'GET',
    path: '/reports/:id/sections',
    summary: "A report's sections and their exportable tables",
    tag: 'reports',
    role: 'viewer',
    params: z.object({ id: z.string().min(1).max(1024).describe('The report id') }),
    query: z.object({}).strict(),
    success: { status: 200, description: 'The sections', schema: reportSectionsSchema },
    errors: [404],
  },
  exportReportSection: {
    operationId: 'exportReportSection',
    method: 'GET',
    path: '/reports/:id/sections/:section',
    summary: "One table of a report's section as CSV or Parquet",
    description:
      "TCA and execution sections: `by_<dimension>`, `total`, `orders` (when carried); risk: `by_desk`, `levels`; performance: `portfolios`; backtest: `ranking`; another section that is a list of objects: `rows`. Nested objects are dotted columns (`metrics.sharpe_ratio`). Numbers are DOUBLE in Parquet. The answer names its file (`Content-Disposition: attachment; filename=...`). 404 for a report the caller cannot see, or a section or table it does not have (the known ones named).",
    tag: 'reports',
    role: 'viewer',
    params: sectionParams,
    query: exportQuerySchema,
    success: { status: 200, description: 'The table', contentType: [CSV_MEDIA_TYPE, PARQUET_MEDIA_TYPE] },
    errors: [404],
  },
  exportReportDetail: {
    operationId: 'exportReportDetail',
    method: 'GET',
    path: '/reports/:id/sections/:section/detail/:partition/:table',
    summary: "A partition's per-order or per-fill detail of a report's section, as Parquet or CSV",
    description:
      "The TCA worker writes, beside each partition's result, one row per order (its sums and ratios: slippage, shortfall, RPM, ...) and one per effective fill (its benchmarks and the quote at the fill and at each markout horizon). `parquet` streams the stored file as written; `csv` converts it. 404 for a report the caller cannot see, a section it does not have, or a partition or table with no detail (the known ones named).",
    tag: 'reports',
    role: 'viewer',
    params: detailParams,
    query: detailQuerySchema,
    success: { status: 200, description: 'The file', contentType: [PARQUET_MEDIA_TYPE, CSV_MEDIA_TYPE] },
    errors: [404],
  },
} as const satisfies Record<string, ApiRoute>;

/** An exported table: its bytes (or a stream of them), media type and file name. */
export interface ExportedTable {
  body: string | Buffer | Readable;
  contentType: string;
  filename: string;
}

/** A detail file a section lists: its partition, table and object key. */
export interface DetailFile {
  partition: string;
  table: DetailTable;
  key: string;
}

/**
 * Reports' sections as files: every read goes through PlatformApi.getReport, so the caller's role
 * and tenant decide exactly as for `GET /reports/:id`. `pipelines` say each step's analytic (what
 * its section holds); a step of an unknown pipeline is read by its shape.
 */
export class ReportExports {
  constructor(
    private readonly api: Pick<PlatformApi, 'getReport'>,
    private readonly pipelines: readonly PipelineDefinition[],
    private readonly objects: Pick<ObjectStore, 'localFile'>,
  ) {}

  async sections(caller: Principal, reportId: string): Promise<z.output<typeof reportSectionsSchema>> {
    const report = await this.api.getReport(caller, reportId);
    const base = `/reports/${encodeURIComponent(reportId)}/sections`;
    return {
      items: Object.entries(sectionsOf(report.document)).map(([section, data]) => ({
        section,
        kind: this.kind(report.pipeline, section, data),
        tables: this.tables(report.pipeline, section, data).map((t) => {
          const path = `${base}/${encodeURIComponent(section)}?table=${encodeURIComponent(t.name)}`;
          return { name: t.name, rows: t.rows.length, columns: t.columns, csv: `${path}&format=csv`, parquet: `${path}&format=parquet` };
        }),
        detail: detailFiles(report.runId, data).map((d) => {
          const path = `${base}/${encodeURIComponent(section)}/detail/${encodeURIComponent(d.partition)}/${d.table}`;
          return { partition: d.partition, table: d.table, parquet: `${path}?format=parquet`, csv: `${path}?format=csv` };
        }),
      })),
    };
  }

  /**
   * A partition's detail file, streamed: the stored Parquet as it is, or converted to CSV by DuckDB
   * in a scratch directory that is removed once the answer is sent (or abandoned).
   */
  async detail(caller: Principal, reportId: string, section: string, partition: string, table: DetailTable, format: ExportFormat): Promise<ExportedTable> {
    const { report, data } = await this.section(caller, reportId, section);
    const files = detailFiles(report.runId, data);
    if (files.length === 0) throw notFound(`section ${section} of report ${reportId} has no detail files`);
    const file = files.find((f) => f.partition === partition && f.table === table);
    if (!file) {
      const partitions = [...new Set(files.map((f) => f.partition))];
      throw notFound(`section ${section} of report ${reportId} has no ${table} detail for partition ${partition} (its partitions: ${partitions.join(', ')})`);
    }
    const filename = `${reportId}-${section}-${partition}-${table}.${format}`.replace(/[^A-Za-z0-9._-]/g, '_');
    const scratch = await mkdtemp(join(tmpdir(), 'nightshift-detail-'));
    try {
      const parquet = await this.objects.localFile(file.key, scratch).catch((error: unknown) => {
        if (error instanceof ObjectNotFoundError) throw notFound(`the ${table} detail of partition ${partition} (${file.key}) is no longer in the object store`);
        throw error;
      });
      let path = parquet;
      if (format === 'csv') {
        // The stored key has `partition=<p>/` in it: no column from the path, only the file's own.
        path = join(scratch, 'detail.csv');
        await withDuckDb((db) => db.exec(`COPY (SELECT * FROM read_parquet(${sqlString(parquet)}, hive_partitioning = false)) TO ${sqlString(path)} (FORMAT csv, HEADER true)`), { threads: 1 });
      }
      const body = createReadStream(path);
      body.once('close', () => void rm(scratch, { recursive: true, force: true }));
      return { body, contentType: format === 'csv' ? `${CSV_MEDIA_TYPE}; charset=utf-8; header=present` : PARQUET_MEDIA_TYPE, filename };
    } catch (error) {
      await rm(scratch, { recursive: true, force: true });
      throw error;
    }
  }

  async export(caller: Principal, reportId: string, section: string, query: { format: ExportFormat; table?: string | undefined }): Promise<ExportedTable> {
    const { report, data } = await this.section(caller, reportId, section);
    const tables = this.tables(report.pipeline, section, data);
    if (tables.length === 0) throw notFound(`section ${section} of report ${reportId} has no table to export`);
    const table = query.table === undefined ? tables[0]! : tables.find((t) => t.name === query.table);
    if (!table) throw notFound(`section ${section} of report ${reportId} has no table ${query.table} (its tables: ${tables.map((t) => t.name).join(', ')})`);
    const filename = `${reportId}-${section}-${table.name}.${query.format}`.replace(/[^A-Za-z0-9._-]/g, '_');
    return query.format === 'csv'
      ? { body: toCsv(table), contentType: `${CSV_MEDIA_TYPE}; charset=utf-8; header=present`, filename }
      : { body: await toParquet(table), contentType: PARQUET_MEDIA_TYPE, filename };
  }

  /** The report (as the caller may read it) and one section's data; 404 naming the sections it has. */
  private async section(caller: Principal, reportId: string, section: string): Promise<{ report: Awaited<ReturnType<PlatformApi['getReport']>>; data: unknown }> {
    const report = await this.api.getReport(caller, reportId);
    const sections = sectionsOf(report.document);
    if (!Object.hasOwn(sections, section)) throw notFound(`report ${reportId} has no section ${section} (its sections: ${Object.keys(sections).join(', ') || 'none'})`);
    return { report, data: sections[section] };
  }

  private analytic(pipeline: string, step: string): string | null {
    return this.pipelines.find((p) => p.name === pipeline)?.steps.find((s) => s.name === step)?.analytic ?? null;
  }

  private tables(pipeline: string, step: string, data: unknown): SectionTable[] {
    return sectionTables(this.analytic(pipeline, step), data);
  }

  private kind(pipeline: string, step: string, data: unknown): string {
    return sectionKind(this.analytic(pipeline, step), data);
  }
}

/**
 * The detail files a section's data lists (`detail: [{ partition, orders, fills }]`, as the TCA
 * worker's partials carry them), only those under the report's own run: the keys come from the
 * worker's result, and this route must not serve another run's (or tenant's) objects.
 */
export function detailFiles(runId: string, data: unknown): DetailFile[] {
  const refs = typeof data === 'object' && data !== null ? (data as { detail?: unknown }).detail : undefined;
  if (!Array.isArray(refs)) return [];
  const prefix = `runs/${runId}/`;
  const out: DetailFile[] = [];
  for (const ref of refs as unknown[]) {
    if (typeof ref !== 'object' || ref === null) continue;
    const { partition } = ref as { partition?: unknown };
    if (typeof partition !== 'string') continue;
    for (const table of DETAIL_TABLES) {
      const key = (ref as Record<string, unknown>)[table];
      if (typeof key === 'string' && key.startsWith(prefix)) out.push({ partition, table, key });
    }
  }
  return out;
}

function sectionsOf(document: unknown): Record<string, unknown> {
  const sections = typeof document === 'object' && document !== null ? (document as { sections?: unknown }).sections : undefined;
  return typeof sections === 'object' && sections !== null && !Array.isArray(sections) ? (sections as Record<string, unknown>) : {};
}

/**
 * The table as a Parquet file, written by DuckDB: the rows go in as newline-delimited JSON with each
 * column's type given (DOUBLE, BOOLEAN, VARCHAR: see columnType), so numbers keep every bit.
 */
export async function toParquet(table: SectionTable): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-export-'));
  try {
    const types = Object.fromEntries(table.columns.map((c) => [c, columnType(table, c)]));
    const lines = table.rows.map((row) =>
      JSON.stringify(Object.fromEntries(table.columns.map((c) => {
        const v = row[c] ?? null;
        return [c, v !== null && types[c] === 'VARCHAR' && typeof v !== 'string' ? String(v) : v];
      }))),
    );
    const input = join(dir, 'rows.ndjson');
    const output = join(dir, 'table.parquet');
    await writeFile(input, lines.join('\n'));
    const columns = `{${table.columns.map((c) => `${sqlString(c)}: ${sqlString(types[c]!)}`).join(', ')}}`;
    const select = table.columns.length === 0 ? 'SELECT 1 AS empty WHERE false' : `SELECT ${table.columns.map(sqlIdent).join(', ')} FROM read_json(${sqlString(input)}, format = 'newline_delimited', columns = ${columns})`;
    await withDuckDb((db) => db.exec(`COPY (${select}) TO ${sqlString(output)} (FORMAT parquet)`), { threads: 1 });
    return await readFile(output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
