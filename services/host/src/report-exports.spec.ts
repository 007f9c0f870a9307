import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetLanded } from '@nightshift/contracts';
import type { ReportDocument } from '@nightshift/reporting';
import type { EmbeddedPlatform } from './embedded-platform.js';
import { ensureSampleDay } from './sample-day.js';
import { apiFetch } from './testing/api-fetch.js';
import { startTestPlatform, type TestPlatform } from './testing/test-platform.js';
import { waitFor } from './testing/wait.js';

/*
 * Reports for people, against the real embedded platform: two business dates of the sample day
 * landed one after the other, the nightly TCA report of each read back through the API with its
 * provenance and day-over-day block, and a section exported as CSV and as Parquet.
 */

const DATES = ['2026-11-19', '2026-11-20'] as const;

let started: TestPlatform | undefined;
let platform: EmbeddedPlatform;
const reports: Array<{ reportId: string; document: ReportDocument; headline: Record<string, number | string | null> }> = [];

async function json<T>(path: string): Promise<T> {
  const res = await apiFetch(`${platform.apiUrl}${path}`);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Lands the sample day of `date` and waits for its nightly TCA report. */
async function landAndReport(date: string, seed: number): Promise<(typeof reports)[number]> {
  const { detail } = await ensureSampleDay(platform.objects, { businessDate: date, seed, desks: ['cash', 'program'], ordersPerDesk: 12, quotesPerSymbol: 30, symbols: 3 });
  const out = await started!.events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify(detail) }] }));
  const landingId = out.Entries![0]!.EventId!;
  const runs = await waitFor(
    () => json<{ items: Array<{ runId: string; pipeline: string; status: string }> }>(`/runs?correlationId=${landingId}&pipeline=nightly-tca`),
    (page) => page.items.length === 1 && page.items[0]!.status === 'SUCCEEDED',
    { what: `the nightly TCA run of ${date} to succeed`, timeoutMs: 180_000, intervalMs: 250 },
  );
  const listed = await waitFor(() => json<{ items: Array<{ reportId: string }> }>(`/reports?runId=${runs.items[0]!.runId}`), (page) => page.items.length === 1, {
    what: `the nightly TCA report of ${date}`,
    timeoutMs: 60_000,
  });
  const report = await json<{ reportId: string; headline: Record<string, number | string | null>; document: ReportDocument }>(`/reports/${listed.items[0]!.reportId}`);
  return { reportId: report.reportId, document: report.document, headline: report.headline };
}

/** The columns and rows of a Parquet file's bytes, as DuckDB reads them. */
async function readParquet(bytes: Buffer): Promise<{ columns: string[]; rows: Array<Record<string, unknown>> }> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-export-read-'));
  try {
    const file = join(dir, 'export.parquet');
    await writeFile(file, bytes);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
      return { columns: reader.columnNames(), rows: reader.getRowObjectsJS() };
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** RFC 4180 fields of a CSV text whose last line ends with a line break (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      row.push(field);
      field = '';
    } else if (!quoted && (c === '\n' || (c === '\r' && text[i + 1] === '\n'))) {
      // CRLF (RFC 4180, the section exports) or LF (DuckDB's CSV writer, the detail exports).
      rows.push([...row, field]);
      row = [];
      field = '';
      if (c === '\r') i++;
    } else {
      field += c;
    }
  }
  return rows;
}

beforeAll(async () => {
  started = await startTestPlatform({ prefix: 'nightshift-report-exports-' });
  platform = started.platform;
  // One after the other: the second date's report is published once the first one is.
  reports.push(await landAndReport(DATES[0], 21));
  reports.push(await landAndReport(DATES[1], 22));
}, 420_000);

afterAll(() => started?.stop());

describe('a report for people', () => {
  it('names the currency and the unit of every headline figure', () => {
    const doc = reports[1]!.document;
    expect(doc.currency).toBe('USD');
    expect(Object.keys(doc.headlineUnits).sort()).toEqual(Object.keys(doc.headline).sort());
    expect(doc.headlineUnits['notional']).toEqual({ kind: 'currency', currency: 'USD' });
    expect(doc.headlineUnits['arrival_slippage_bps']).toEqual({ kind: 'bps' });
    expect(doc.headlineText['orders']).toBe(`${doc.headline['orders']} orders`);
  });

  it("carries its provenance: the dataset version, every input file's checksum as the stored bytes hash, the pipeline, run and code", async () => {
    const doc = reports[1]!.document;
    expect(doc.provenance.dataset.datasetId).toBe(`executions@${DATES[1]}#v1`);
    expect(doc.provenance.dataset.files.length).toBeGreaterThan(0);
    for (const file of doc.provenance.dataset.files) {
      const bytes = await platform.objects.get(file.key);
      expect(file.checksum, file.key).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
    // The same files the dataset version lists through the API.
    const version = await json<{ files: Array<{ key: string; checksum: string }> }>(`/datasets/${encodeURIComponent(doc.provenance.dataset.datasetId)}`);
    expect(doc.provenance.dataset.files.map((f) => [f.key, f.checksum])).toEqual(version.files.map((f) => [f.key, f.checksum]));
    expect(doc.provenance.pipeline).toEqual({ name: 'nightly-tca', definitionHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(doc.provenance.run).toMatchObject({ runId: doc.runId, attempt: 1 });
    expect(doc.provenance.codeVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("compares the second business date with the first: each change is the difference of the two reports' figures", () => {
    const [first, second] = reports as [(typeof reports)[0], (typeof reports)[0]];
    expect(first.document.previous).toBeNull();
    const previous = second.document.previous!;
    expect(previous).toMatchObject({ reportId: first.reportId, businessDate: DATES[0], headline: first.headline });
    const numeric = Object.keys(second.headline).filter((k) => typeof second.headline[k] === 'number' && typeof first.headline[k] === 'number');
    expect(numeric.length).toBeGreaterThan(3);
    expect(Object.keys(previous.changes).sort()).toEqual(numeric.sort());
    for (const name of numeric) {
      const before = first.headline[name] as number;
      const now = second.headline[name] as number;
      expect(previous.changes[name], name).toMatchObject({ previous: before, current: now, absolute: now - before, relative: before === 0 ? null : (now - before) / Math.abs(before) });
    }
  });
});

describe('section exports', () => {
  it('lists the sections and the tables each exports', async () => {
    const sections = await json<{ items: Array<{ section: string; kind: string; tables: Array<{ name: string; rows: number }> }> }>(`/reports/${reports[1]!.reportId}/sections`);
    const tca = sections.items.find((s) => s.section === 'tca')!;
    expect(tca.kind).toBe('tca');
    expect(tca.tables.map((t) => t.name)).toEqual([...Object.keys((reports[1]!.document.sections['tca'] as { by: object }).by).map((d) => `by_${d}`), 'total']);
  });

  it("gives a section's table as CSV whose rows are the report's", async () => {
    const { reportId, document } = reports[1]!;
    const res = await apiFetch(`${platform.apiUrl}/reports/${reportId}/sections/tca?table=by_broker&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${reportId}-tca-by_broker.csv"`);
    const [header, ...rows] = parseCsv(await res.text());
    const expected = (document.sections['tca'] as { by: { broker: Array<Record<string, number | string | null>> } }).by.broker;
    expect(rows).toHaveLength(expected.length);
    expect(header).toEqual(Object.keys(expected[0]!));
    rows.forEach((row, i) => {
      const back = Object.fromEntries(header!.map((column, j) => {
        const original = expected[i]![column];
        const field = row[j]!;
        return [column, field === '' ? null : typeof original === 'number' ? Number(field) : field];
      }));
      expect(back).toEqual(expected[i]);
    });
  });

  it("gives it as Parquet that DuckDB reads back: the same rows, to the bit", async () => {
    const { reportId, document } = reports[1]!;
    const res = await apiFetch(`${platform.apiUrl}/reports/${reportId}/sections/tca?table=by_broker&format=parquet`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const { rows } = await readParquet(Buffer.from(await res.arrayBuffer()));
    const expected = (document.sections['tca'] as { by: { broker: Array<Record<string, unknown>> } }).by.broker;
    expect(rows).toHaveLength(expected.length);
    expect(rows[0]!['arrival_slippage_bps']).toBe(expected[0]!['arrival_slippage_bps']);
    expect(rows.map((r) => r['key'])).toEqual(expected.map((r) => r['key']));
  });

  it("lists each partition's per-order and per-fill detail files and streams them as stored, or as CSV", async () => {
    const { reportId, document } = reports[1]!;
    const refs = (document.sections['tca'] as { detail: Array<{ partition: string; orders: string; fills: string }> }).detail;
    expect(refs.map((r) => r.partition)).toEqual(['cash', 'program']);
    const sections = await json<{ items: Array<{ section: string; detail: Array<{ partition: string; table: string; parquet: string; csv: string }> }> }>(`/reports/${reportId}/sections`);
    const listed = sections.items.find((s) => s.section === 'tca')!.detail;
    expect(listed.map((d) => `${d.partition}/${d.table}`)).toEqual(['cash/orders', 'cash/fills', 'program/orders', 'program/fills']);
    const fills = listed.find((d) => d.partition === 'program' && d.table === 'fills')!;
    expect(fills.parquet).toBe(`/reports/${reportId}/sections/tca/detail/program/fills?format=parquet`);

    const parquet = await apiFetch(`${platform.apiUrl}${fills.parquet}`);
    expect(parquet.status).toBe(200);
    expect(parquet.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    expect(parquet.headers.get('content-disposition')).toBe(`attachment; filename="${reportId}-tca-program-fills.parquet"`);
    const bytes = Buffer.from(await parquet.arrayBuffer());
    const stored = refs.find((r) => r.partition === 'program')!.fills;
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(await platform.objects.get(stored)).digest('hex'));

    const csv = await apiFetch(`${platform.apiUrl}${fills.csv}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...rows] = parseCsv(await csv.text());
    const back = await readParquet(bytes);
    expect(header).toEqual(back.columns);
    expect(header).toContain('fill_id');
    expect(rows.length).toBe(back.rows.length);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((r) => r[header!.indexOf('fill_id')])).toEqual(back.rows.map((r) => r['fill_id']));
  });

  it('answers 404 for a partition or table with no detail, naming the partitions', async () => {
    const { reportId } = reports[1]!;
    const res = await apiFetch(`${platform.apiUrl}/reports/${reportId}/sections/tca/detail/nope/orders`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toBe(`section tca of report ${reportId} has no orders detail for partition nope (its partitions: cash, program)`);
    const table = await apiFetch(`${platform.apiUrl}/reports/${reportId}/sections/tca/detail/cash/quotes`);
    expect(table.status).toBe(400);
  });

  it('answers 404 naming the key when a listed detail file is gone from the object store', async () => {
    // The first date's report: the other tests read the second's.
    const { reportId, document } = reports[0]!;
    const key = (document.sections['tca'] as { detail: Array<{ partition: string; orders: string }> }).detail.find((d) => d.partition === 'cash')!.orders;
    await platform.objects.delete(key);
    const res = await apiFetch(`${platform.apiUrl}/reports/${reportId}/sections/tca/detail/cash/orders?format=csv`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toBe(`the orders detail of partition cash (${key}) is no longer in the object store`);
  });

  it('answers 404 naming the known sections, or the known tables', async () => {
    const { reportId } = reports[1]!;
    const section = await apiFetch(`${platform.apiUrl}/reports/${reportId}/sections/nope`);
    expect(section.status).toBe(404);
    expect(((await section.json()) as { detail: string }).detail).toBe(`report ${reportId} has no section nope (its sections: tca)`);
    const table = await apiFetch(`${platform.apiUrl}/reports/${reportId}/sections/tca?table=nope`);
    expect(table.status).toBe(404);
    const tables = [...Object.keys((reports[1]!.document.sections['tca'] as { by: object }).by).map((d) => `by_${d}`), 'total'];
    expect(((await table.json()) as { detail: string }).detail).toBe(`section tca of report ${reportId} has no table nope (its tables: ${tables.join(', ')})`);
  });
});
