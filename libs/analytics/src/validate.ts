import { type Db, sqlIdent, sqlString, withDuckDb } from './duckdb.js';
import { InputDataError, type RowProblem } from './errors.js';
import { SCHEMAS, type TableName, type TableSchema } from './schemas.js';
import { assertReadable, csvReader, fileList, formatOf, parquetColumns, readCsvHeader, type TableFiles } from './source.js';

/** Problems beyond this many are not reported (the count of rows is still exact). */
export const MAX_REPORTED_PROBLEMS = 10_000;

export interface ValidationResult {
  /** Data rows in the file (CSV: records after the header, whether valid or not). */
  rows: number;
  /** Every problem found (up to MAX_REPORTED_PROBLEMS), ordered by line then column. */
  problems: RowProblem[];
}

/**
 * Schema check of one data file of a known table: header/columns, types, required values and row
 * rules (positive quantities, known sides, uncrossed quotes, ...).
 *
 * CSV: DuckDB's reject tables (`store_rejects`) report every row that does not parse with its
 * 1-based physical line (header = line 1) and column; rule violations on the rows that did parse
 * are mapped back to their physical lines (quoted fields with embedded newlines are not supported
 * by that mapping; no table here has free text). Parquet: schema problems are on line 0 and row
 * `n` (1-based) is reported as line `n`.
 *
 * `options.symbol`: the file is that one symbol's part of its table (`symbolOfFile` of its key):
 * every row of a table with a symbol column must have it, since a reader of other symbols skips
 * the file.
 *
 * Never throws for bad data; throws `DataFileAccessError` when the file cannot be read.
 */
export async function validateTableFile(table: TableName, path: string, options: { symbol?: string | undefined } = {}): Promise<ValidationResult> {
  await assertReadable(path);
  const schema = withSymbolRule(SCHEMAS[table], options.symbol);
  return withDuckDb((db) => (formatOf(path) === 'csv' ? validateCsv(db, table, schema, path) : validateParquet(db, table, schema, path)), { threads: 2 });
}

/** The table's schema, plus the rule that every row has `symbol` when the file is that symbol's part. */
function withSymbolRule(schema: TableSchema, symbol: string | undefined): TableSchema {
  if (symbol === undefined || !schema.columns.some((c) => c.name === 'symbol')) return schema;
  return { ...schema, rules: [...schema.rules, { column: 'symbol', valid: `symbol = ${sqlString(symbol)}`, message: `symbol must be ${symbol}: the file is that symbol's part (its symbol= directory)` }] };
}

/**
 * Validates each file (every file of a table given as several) and throws one `InputDataError`
 * listing the problems of all of them, each naming its own file.
 */
export async function assertValidFiles(files: ReadonlyArray<{ table: TableName; path: TableFiles }>): Promise<void> {
  const problems: RowProblem[] = [];
  for (const file of files) {
    for (const path of fileList(file.table, file.path)) problems.push(...(await validateTableFile(file.table, path)).problems);
  }
  if (problems.length > 0) throw new InputDataError(problems);
}

async function validateCsv(db: Db, table: TableName, schema: TableSchema, path: string): Promise<ValidationResult> {
  const header = await readCsvHeader(path);
  if (header.length === 0) return { rows: 0, problems: [{ file: path, line: 1, message: `empty file: expected a ${table} header` }] };
  const problems = headerProblems(schema, header, path);
  const known = new Map(schema.columns.map((c) => [c.name, c] as const));
  // Required columns keep empty fields as '' instead of NULL, so an empty number or timestamp
  // becomes a CAST reject that DuckDB reports with its line and column.
  const required = header.filter((name) => known.get(name)?.required);
  const forceNotNull = required.length > 0 ? `, force_not_null = [${required.map(sqlString).join(', ')}]` : '';
  const reader = csvReader(
    path,
    header.map((name) => ({ name, type: known.get(name)?.type ?? 'VARCHAR' })),
    `, store_rejects = true, rejects_table = 'rej_err', rejects_scan = 'rej_scan', rejects_limit = ${MAX_REPORTED_PROBLEMS}${forceNotNull}`,
  );
  try {
    await db.exec(`CREATE TABLE data AS SELECT * FROM ${reader}`);
  } catch {
    // Only undecodable files (bad encoding, binary) get here: row-level errors go to the reject table.
    return { rows: 0, problems: [...problems, { file: path, line: 1, message: 'unreadable CSV (not UTF-8 text of the expected shape; its content is not shown)' }] };
  }
  const rejects = await db.all<{ line: number; column_name: string | null; error_type: string; error_message: string }>(
    `SELECT line, column_name, error_type, error_message FROM rej_err ORDER BY line, column_idx`,
  );
  for (const r of rejects) {
    // A column the table does not define is named by its position: its header is file content.
    const column = r.column_name === null ? undefined : known.has(r.column_name) ? r.column_name : `#${header.indexOf(r.column_name) + 1}`;
    problems.push({ file: path, line: r.line, ...(column !== undefined ? { column } : {}), message: rejectMessage(r.error_type, r.error_message) });
  }
  const { accepted } = await db.one<{ accepted: number }>(`SELECT count(*) AS accepted FROM data`);
  const { rejected } = await db.one<{ rejected: number }>(`SELECT count(DISTINCT line) AS rejected FROM rej_err`);

  const present = new Set(header);
  const violations = ruleViolationsSql(schema, present, 'data', 'rowid');
  if (violations !== null) {
    await db.exec(`CREATE TABLE violations AS ${violations}`);
    const { n } = await db.one<{ n: number }>(`SELECT count(*) AS n FROM violations`);
    if (n > 0) {
      // Accepted rows keep file order in `data`; pair the k-th accepted row with the k-th
      // non-empty physical line that was not rejected.
      const lines = await db.all<{ line: number; column_name: string; message: string }>(`
        WITH data_lines AS (${rowLinesSql(path, 'rej_err')})
        SELECT d.line, v.column_name, v.message FROM violations v JOIN data_lines d ON d.rid = v.rid
        ORDER BY d.line, v.column_name LIMIT ${MAX_REPORTED_PROBLEMS}`);
      for (const l of lines) problems.push({ file: path, line: l.line, column: l.column_name, message: l.message });
    }
  }
  return { rows: accepted + rejected, problems: sortProblems(problems) };
}

async function validateParquet(db: Db, table: TableName, schema: TableSchema, path: string): Promise<ValidationResult> {
  let columns: Array<{ name: string; type: string }>;
  try {
    columns = await parquetColumns(db, path);
  } catch {
    return { rows: 0, problems: [{ file: path, line: 0, message: 'not a readable parquet file (its content is not shown)' }] };
  }
  const problems = headerProblems(schema, columns.map((c) => c.name), path, 0);
  const present = new Set(columns.map((c) => c.name));
  const typed = schema.columns.filter((c) => present.has(c.name));
  const src = `read_parquet(${sqlString(path)}, file_row_number = true, hive_partitioning = false)`;
  // Values that exist but do not cast to the schema type are type problems.
  const castChecks = typed.map(
    (c) =>
      `SELECT file_row_number AS rid, '${c.name}' AS column_name, 'expected ${c.type}' AS message ` +
      `FROM ${src} WHERE ${sqlIdent(c.name)} IS NOT NULL AND TRY_CAST(${sqlIdent(c.name)} AS ${c.type}) IS NULL`,
  );
  const select = typed.map((c) => `TRY_CAST(${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ');
  await db.exec(`CREATE TABLE data AS SELECT file_row_number AS rid${select ? `, ${select}` : ''} FROM ${src}`);
  // Required values are checked on the raw file, so a value of the wrong type is one problem, not two.
  const violations = ruleViolationsSql(schema, present, 'data', 'rid', { relation: src, rid: 'file_row_number' });
  const parts = [...castChecks, ...(violations ? [violations] : [])];
  if (parts.length > 0) {
    const rows = await db.all<{ rid: number; column_name: string; message: string }>(
      `SELECT rid, column_name, message FROM (${parts.join(' UNION ALL ')}) ORDER BY rid, column_name LIMIT ${MAX_REPORTED_PROBLEMS}`,
    );
    for (const r of rows) problems.push({ file: path, line: r.rid + 1, column: r.column_name, message: r.message });
  }
  const { rows } = await db.one<{ rows: number }>(`SELECT count(*) AS rows FROM data`);
  return { rows, problems: sortProblems(problems) };
}

/**
 * SELECT (line, rid) pairing the k-th row DuckDB accepted from a CSV (rid = k - 1, its rowid after a
 * CREATE TABLE AS) with the k-th non-empty physical line after the header that is not in the reject
 * table. Row order is file order; quoted fields with embedded newlines would break the pairing.
 */
export function rowLinesSql(path: string, rejectsTable: string | null): string {
  const notRejected = rejectsTable ? `AND line NOT IN (SELECT line FROM ${rejectsTable})` : '';
  return `
    WITH text AS (SELECT string_split(content, chr(10)) AS parts FROM read_text(${sqlString(path)})),
    physical AS (SELECT unnest(parts) AS body, generate_subscripts(parts, 1) AS line FROM text)
    SELECT line, row_number() OVER (ORDER BY line) - 1 AS rid FROM physical
    WHERE line > 1 AND rtrim(body, chr(13)) <> '' ${notRejected}`;
}

function headerProblems(schema: TableSchema, names: string[], path: string, line = 1): RowProblem[] {
  const problems: RowProblem[] = [];
  const expected = new Set(schema.columns.map((c) => c.name));
  // A header the table does not define is file content: it is named by its position, never quoted.
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const position = i + 1;
    const column = expected.has(name) ? name : `#${position}`;
    const first = seen.get(name);
    if (first !== undefined) problems.push({ file: path, line, column, message: `duplicate column (position ${position} repeats position ${first})` });
    else seen.set(name, position);
    if (!expected.has(name)) {
      problems.push({ file: path, line, column, message: `unexpected column at position ${position} (the table's columns: ${[...expected].join(', ')})` });
    }
  });
  for (const c of schema.columns) {
    if (c.required && !seen.has(c.name)) problems.push({ file: path, line, column: c.name, message: `missing required column "${c.name}"` });
  }
  return problems;
}

/**
 * One SELECT producing (rid, column_name, message) for every rule broken by a row of `relation`:
 * required values missing (NULL, or '' for text) and the table's row rules, for present columns.
 */
function ruleViolationsSql(
  schema: TableSchema,
  present: Set<string>,
  relation: string,
  rid: string,
  required: { relation: string; rid: string } = { relation, rid },
): string | null {
  const checks: string[] = [];
  for (const c of schema.columns) {
    if (!c.required || !present.has(c.name)) continue;
    const id = sqlIdent(c.name);
    const missing = c.type === 'VARCHAR' ? `(${id} IS NULL OR trim(CAST(${id} AS VARCHAR)) = '')` : `${id} IS NULL`;
    checks.push(`SELECT ${required.rid} AS rid, '${c.name}' AS column_name, 'missing required value' AS message FROM ${required.relation} WHERE ${missing}`);
  }
  for (const rule of schema.rules) {
    const referenced = schema.columns.filter((c) => new RegExp(`\\b${c.name}\\b`).test(rule.valid)).map((c) => c.name);
    if (!referenced.every((name) => present.has(name))) continue;
    checks.push(`SELECT ${rid} AS rid, '${rule.column}' AS column_name, ${sqlString(rule.message)} AS message FROM ${relation} WHERE NOT coalesce(${rule.valid}, true)`);
  }
  return checks.length > 0 ? checks.join(' UNION ALL ') : null;
}

/** Human wording of one DuckDB CSV reject, without the file's content (no value, no row text). */
export function rejectMessage(errorType: string, message: string): string {
  if (errorType === 'CAST') {
    const m = /Could not convert string "(.*)" to '(\w+)'/.exec(message);
    // With force_not_null an empty required field fails the cast with no value in the message.
    if (!m || m[1] === '') return 'missing required value';
    // The value is file content: named by its type only.
    return `not a valid ${m[2]}`;
  }
  // DuckDB's own text may quote the row: only the kind of problem is kept.
  if (errorType === 'MISSING COLUMNS') return 'missing field(s) in this row';
  if (errorType === 'TOO MANY COLUMNS') return 'too many fields in this row';
  return `${errorType.toLowerCase()} (the row's content is not shown)`;
}

function sortProblems(problems: RowProblem[]): RowProblem[] {
  return problems.sort((a, b) => a.line - b.line || (a.column ?? '').localeCompare(b.column ?? ''));
}

