import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { DatasetLanded, datasetTableSchema, type DatasetLandedDetail, type DatasetTable } from '@nightshift/contracts';
import { CliUsageError } from './errors.js';

/** Tables of market data: one file serves every desk, so `--desk` does not apply to them. */
export const MARKET_TABLES: readonly DatasetTable[] = ['prices', 'quotes', 'trades'];

/** One local file to land: where it is, what it holds, and the object key it goes to. */
export interface LandingFile {
  path: string;
  table: DatasetTable;
  desk?: string;
  key: string;
}

/** What `land` was asked to land. */
export interface LandingRequest {
  dataset: string;
  businessDate: string;
  /** The desk (partition) of the files of per-desk tables that do not name one in their path. */
  desk?: string;
  tenant?: string;
  force?: boolean;
  /** `FILE` (table from the name) or `table=FILE`. */
  operands: readonly string[];
  /** Keeps this landing's objects apart from every other's ({@link newLandingId}). */
  landingId: string;
  producer: string;
}

/** A landing id: UTC time to the second and 24 random bits, so ids sort by time and two landings of one second differ. */
export function newLandingId(now = new Date()): string {
  return `${now.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z-${randomBytes(3).toString('hex')}`;
}

const TABLES = datasetTableSchema.options;
const isTable = (name: string): name is DatasetTable => (TABLES as readonly string[]).includes(name);

/**
 * The table and desk of one operand. `table=FILE` names the table; otherwise the file's name does
 * (`fills.csv`, `fills.parquet`), or a directory of its path (the layout `nightshift generate`
 * writes: `<table>/business_date=<d>/desk=<desk>/part-0.csv`). A `desk=<desk>` directory names the
 * desk; else `--desk` does, for per-desk tables.
 */
export function classify(operand: string, desk: string | undefined): { path: string; table: DatasetTable; desk?: string } {
  const named = /^([a-z]+)=(.+)$/.exec(operand);
  const table = named && isTable(named[1]!) ? (named[1] as DatasetTable) : undefined;
  const path = table !== undefined ? named![2]! : operand;
  const segments = path.split(/[\\/]/).filter((s) => s !== '');
  const name = basename(path).split('.')[0] ?? '';
  const found = table ?? (isTable(name) ? name : [...segments].reverse().find(isTable));
  if (found === undefined) {
    throw new CliUsageError(`cannot tell the table of ${path}: name the file after it (${TABLES.map((t) => `${t}.csv`).join(', ')}) or say it as table=${path}`);
  }
  const fromPath = segments.find((s) => s.startsWith('desk='))?.slice('desk='.length);
  const ofFile = fromPath ?? (MARKET_TABLES.includes(found) ? undefined : desk);
  return { path, table: found, ...(ofFile !== undefined ? { desk: ofFile } : {}) };
}

/**
 * The files of a landing and the Dataset Landed detail that announces them. Each goes to
 * `landing/<dataset>/<table>/business_date=<date>/[desk=<desk>/]<landing id>/<file name>`: under its
 * own landing id, so a later landing never overwrites the files of a registered version.
 * @throws CliUsageError for an operand whose table cannot be told, two files to one key, or a
 * detail its contract refuses (dataset name, date, desk), naming every problem.
 */
export function planLanding(request: LandingRequest): { files: LandingFile[]; detail: DatasetLandedDetail } {
  if (request.operands.length === 0) throw new CliUsageError('missing FILE: give the files to land (FILE or table=FILE)');
  const files = request.operands.map((operand) => {
    const f = classify(operand, request.desk);
    const key = [
      'landing',
      request.dataset,
      f.table,
      `business_date=${request.businessDate}`,
      ...(f.desk !== undefined ? [`desk=${f.desk}`] : []),
      request.landingId,
      basename(f.path),
    ].join('/');
    return { ...f, key };
  });
  const seen = new Map<string, string>();
  for (const f of files) {
    const other = seen.get(f.key);
    if (other !== undefined) throw new CliUsageError(`${other} and ${f.path} would land as the same object ${f.key} (same table, desk and file name)`);
    seen.set(f.key, f.path);
  }
  const parsed = DatasetLanded.detail.safeParse({
    dataset: request.dataset,
    businessDate: request.businessDate,
    files: files.map((f) => ({ table: f.table, key: f.key, ...(f.desk !== undefined ? { desk: f.desk } : {}) })),
    producer: request.producer,
    ...(request.tenant !== undefined ? { tenant: request.tenant } : {}),
    ...(request.force ? { force: true } : {}),
  });
  if (!parsed.success) {
    const flag: Record<string, string> = { dataset: '--dataset', businessDate: '--date', tenant: '--tenant' };
    const problems = parsed.error.issues.map((i) => {
      const [field, index, part] = i.path;
      if (field === 'files' && typeof index === 'number') return `${files[index]!.path} (${String(part)}): ${i.message}`;
      return `${flag[String(field)] ?? String(field)}: ${i.message}`;
    });
    throw new CliUsageError(problems.join('; '));
  }
  return { files, detail: parsed.data };
}
