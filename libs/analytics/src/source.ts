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

/** `read_csv(...)` for a file whose header lists `columns` in that order, typed per schema. */
export function csvReader(path: string, columns: Array<{ name: string; type: string }>, extra = ''): string {
  const spec = columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ');
  return `read_csv(${sqlString(path)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', hive_partitioning = false, columns = {${spec}}${extra})`;
}

/** Columns a table file actually has, for parquet from its footer. */
export async function parquetColumns(db: Db, path: string): Promise<Array<{ name: string; type: string }>> {
  const rows = await db.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path)}, hive_partitioning = false)`);
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

/**
 * A typed SQL relation (a parenthesised SELECT) over one table's files, with exactly the schema's
 * columns: optional columns absent from a file read as NULL, unknown columns are ignored. Several
 * files are the UNION ALL of their typed SELECTs (every one has the schema's column list), so
 * CSV and Parquet parts mix freely. Each file is checked on its own: missing required columns are
 * an `InputDataError` naming that file's header line; an empty list is an
 * `InvalidAnalyticsOptionsError` naming the table.
 */
export async function tableSource(db: Db, table: TableName, paths: TableFiles): Promise<string> {
  const selects: string[] = [];
  for (const path of fileList(table, paths)) selects.push(await fileSelect(db, table, path));
  return `(${selects.join(' UNION ALL ')})`;
}

/** The typed SELECT (unparenthesised) over one file of `table`. */
async function fileSelect(db: Db, table: TableName, path: string): Promise<string> {
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
  const known = new Map(schema.columns.map((c) => [c.name, c] as const));
  const select = schema.columns.map((c) => (names.has(c.name) ? castColumn(c, format) : `NULL::${c.type} AS ${sqlIdent(c.name)}`)).join(', ');
  const from =
    format === 'csv'
      ? csvReader(path, present.map((c) => ({ name: c.name, type: known.get(c.name)?.type ?? 'VARCHAR' })))
      : `read_parquet(${sqlString(path)}, hive_partitioning = false)`;
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
