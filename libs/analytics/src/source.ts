import { open, stat } from 'node:fs/promises';
import { type Db, errorMessage, sqlIdent, sqlString } from './duckdb.js';
import { DataFileAccessError, InputDataError, InvalidAnalyticsOptionsError } from './errors.js';
import { SCHEMAS, type ColumnSpec, type TableName } from './schemas.js';

export type FileFormat = 'csv' | 'parquet';

/**
 * The files holding one table of one partition: a single path, or several (hive parts, late
 * corrections) whose rows together make the table. CSV and Parquet may be mixed.
 */
export type TableFiles = string | readonly string[];

/**
 * `paths` as a list. An empty list is an `InvalidAnalyticsOptionsError` naming the table: reading no
 * file at all would silently report an empty partition.
 */
export function fileList(table: TableName, paths: TableFiles): readonly string[] {
  const list = typeof paths === 'string' ? [paths] : paths;
  if (list.length === 0) throw new InvalidAnalyticsOptionsError(`no ${table} files given: a table needs at least one file (an empty list was passed)`);
  return list;
}

/** Parquet by extension, CSV otherwise. */
export function formatOf(path: string): FileFormat {
  return /\.parquet$/i.test(path) ? 'parquet' : 'csv';
}

/** Fails with a typed error when `path` is not a readable regular file. */
export async function assertReadable(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new DataFileAccessError(path, 'not a regular file');
  } catch (cause) {
    if (cause instanceof DataFileAccessError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    throw new DataFileAccessError(path, code === 'ENOENT' ? 'file not found' : `cannot read: ${errorMessage(cause)}`, {
      cause,
      retryable: code !== 'ENOENT' && code !== 'EACCES' && code !== 'EISDIR',
    });
  }
}

/**
 * Column names from the first line of a CSV file; `[]` for an empty file. Reads only the first
 * 64 KiB: a header never needs more, and the data itself is left to DuckDB.
 */
export async function readCsvHeader(path: string): Promise<string[]> {
  await assertReadable(path);
  let text: string;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(65536);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      text = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (cause) {
    throw new DataFileAccessError(path, `cannot read: ${errorMessage(cause)}`, { cause, retryable: true });
  }
  const firstLine = text.replace(/^\uFEFF/, '').split('\n', 1)[0].replace(/\r$/, '');
  if (firstLine.trim() === '') return [];
  return firstLine.split(',').map((name) => name.trim().replace(/^"(.*)"$/, '$1').replaceAll('""', '"'));
}

/** `read_csv(...)` for files whose header lists `columns` in that order, typed per schema. */
export function csvReader(paths: string | readonly string[], columns: Array<{ name: string; type: string }>, extra = ''): string {
  const spec = columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ');
  return `read_csv(${sqlPaths(paths)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', hive_partitioning = false, columns = {${spec}}${extra})`;
}

/** One path as a string literal, several as a list literal: what DuckDB's file readers take. */
function sqlPaths(paths: string | readonly string[]): string {
  return typeof paths === 'string' ? sqlString(paths) : `[${paths.map(sqlString).join(', ')}]`;
}

/** Columns a table file actually has, for parquet from its footer. */
export async function parquetColumns(db: Db, path: string): Promise<Array<{ name: string; type: string }>> {
  const rows = await db.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path)}, hive_partitioning = false)`);
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

/**
 * A typed SQL relation (a parenthesised SELECT) over one table's files, with exactly the schema's
 * columns: optional columns absent from a file read as NULL, unknown columns are ignored. Each
 * file is checked on its own: missing required columns are an `InputDataError` naming that file's
 * header line; an empty list is an `InvalidAnalyticsOptionsError` naming the table. Files of the
 * same format and columns are read by ONE reader call over their list (a day's quotes split by
 * symbol is a hundred files of one shape: one scan, not a hundred-branch plan); groups of other
 * shapes are the UNION ALL of their typed SELECTs, so CSV and Parquet parts mix freely.
 */
export async function tableSource(db: Db, table: TableName, paths: TableFiles): Promise<string> {
  const groups = new Map<string, { shape: FileShape; paths: string[] }>();
  for (const path of fileList(table, paths)) {
    const shape = await fileShape(db, table, path);
    const id = `${shape.format}\0${JSON.stringify(shape.present)}`;
    const group = groups.get(id);
    if (group) group.paths.push(path);
    else groups.set(id, { shape, paths: [path] });
  }
  return `(${[...groups.values()].map((g) => groupSelect(table, g.shape, g.paths.length === 1 ? g.paths[0]! : g.paths)).join(' UNION ALL ')})`;
}

/** A file's format and the columns it has (CSV: from its header, as text; Parquet: from its footer). */
interface FileShape {
  format: FileFormat;
  present: Array<{ name: string; type: string }>;
}

/** The file's shape, checked against the table's schema (not empty, every required column present). */
async function fileShape(db: Db, table: TableName, path: string): Promise<FileShape> {
  const schema = SCHEMAS[table];
  const format = formatOf(path);
  const present =
    format === 'csv' ? (await readCsvHeader(path)).map((name) => ({ name, type: 'VARCHAR' })) : await parquetColumnsChecked(db, path);
  if (present.length === 0) throw new InputDataError([{ file: path, line: 1, message: `empty file: expected a ${table} header` }]);
  const names = new Set(present.map((c) => c.name));
  const missing = schema.columns.filter((c) => c.required && !names.has(c.name));
  if (missing.length > 0) {
    throw new InputDataError(missing.map((c) => ({ file: path, line: 1, column: c.name, message: `missing required column "${c.name}" in ${table} file` })));
  }
  return { format, present };
}

/** The typed SELECT (unparenthesised) over files of `table` that all have `shape`. */
function groupSelect(table: TableName, shape: FileShape, paths: string | readonly string[]): string {
  const schema = SCHEMAS[table];
  const names = new Set(shape.present.map((c) => c.name));
  const known = new Map(schema.columns.map((c) => [c.name, c] as const));
  const select = schema.columns.map((c) => (names.has(c.name) ? castColumn(c, shape.format) : `NULL::${c.type} AS ${sqlIdent(c.name)}`)).join(', ');
  const from =
    shape.format === 'csv'
      ? csvReader(paths, shape.present.map((c) => ({ name: c.name, type: known.get(c.name)?.type ?? 'VARCHAR' })))
      : `read_parquet(${sqlPaths(paths)}, hive_partitioning = false)`;
  return `SELECT ${select} FROM ${from}`;
}

function castColumn(column: ColumnSpec, format: FileFormat): string {
  const id = sqlIdent(column.name);
  return format === 'csv' ? id : `CAST(${id} AS ${column.type}) AS ${id}`;
}

async function parquetColumnsChecked(db: Db, path: string): Promise<Array<{ name: string; type: string }>> {
  await assertReadable(path);
  try {
    return await parquetColumns(db, path);
  } catch (cause) {
    throw new InputDataError([{ file: path, line: 0, message: `not a readable parquet file: ${errorMessage(cause)}` }], { cause });
  }
}

/**
 * The symbol a file holds when it is one symbol's part of a market table: the `symbol=<SYM>`
 * directory of its path or object key (hive style, like `desk=`), percent-decoded so a symbol with
 * a `/` can be named (`symbol=BRK%2FB`). Undefined for a file of several symbols (no such
 * directory). Ingestion checks that every row of such a file has that symbol.
 */
export function symbolOfFile(pathOrKey: string): string | undefined {
  const segment = pathOrKey.split(/[\\/]/).findLast((part) => part.startsWith('symbol='));
  if (segment === undefined || segment === 'symbol=') return undefined;
  try {
    return decodeURIComponent(segment.slice('symbol='.length));
  } catch {
    // Not percent-encoding after all: the segment as written.
    return segment.slice('symbol='.length);
  }
}

/**
 * The files of a market table a reader of `symbols` needs: every one-symbol file of those symbols,
 * and every file of several symbols (it may hold any). When that leaves nothing (no order touches
 * a symbol that has a file) the first file is kept, so the table still has its columns and an
 * empty join; rows of other symbols never match an order, so the analytics' results are the same.
 */
export function filesOfSymbols<T extends string>(files: readonly T[], symbols: ReadonlySet<string>): T[] {
  const kept = files.filter((f) => {
    const symbol = symbolOfFile(f);
    return symbol === undefined || symbols.has(symbol);
  });
  return kept.length > 0 || files.length === 0 ? kept : [files[0]!];
}
