import { sectionKind } from '../graphql/report-sections.js';

/*
 * A report section's tabular data, for export as CSV or Parquet (report-exports.ts). Which tables a
 * section has depends on what it holds (its analytic, else its shape):
 *
 *   tca, execution  by_<dimension> (one row per broker, venue, ...: `key` and every metric), total
 *                   (one row), orders (one row per order, when the section carries them)
 *   risk            by_desk (one row per desk, then the portfolio with desk empty), levels (one row
 *                   per desk or portfolio and confidence: VaR and ES)
 *   performance     portfolios (rank, portfolio, metrics.*)
 *   backtest        ranking (rank, params.*, symbols, trades, turnover, metrics.*)
 *   anything else   rows, when it is a list of objects
 *
 * The first table listed is the default. Nested objects become dotted columns (`metrics.sharpe_ratio`);
 * a list inside a row becomes its JSON text. Columns are in the order first seen.
 */

/** A cell: what a flattened JSON value can be. */
export type Cell = number | string | boolean | null;

/** One exportable table of a section. */
export interface SectionTable {
  name: string;
  columns: string[];
  rows: Array<Record<string, Cell>>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ a: 1, m: { x: 2 } }` -> `{ a: 1, 'm.x': 2 }`; lists as JSON text. */
export function flattenRow(value: Record<string, unknown>, prefix = '', into: Record<string, Cell> = {}): Record<string, Cell> {
  for (const [key, v] of Object.entries(value)) {
    const name = `${prefix}${key}`;
    if (isObject(v)) flattenRow(v, `${name}.`, into);
    else if (Array.isArray(v)) into[name] = JSON.stringify(v);
    else if (v === undefined || v === null) into[name] = null;
    else if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') into[name] = v;
    else into[name] = String(v);
  }
  return into;
}

/** A table of rows (objects), flattened, with the union of their columns in first-seen order. */
export function tableOf(name: string, rows: readonly unknown[]): SectionTable {
  const flat = rows.filter(isObject).map((r) => flattenRow(r));
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of flat) {
    for (const column of Object.keys(row)) {
      if (!seen.has(column)) {
        seen.add(column);
        columns.push(column);
      }
    }
  }
  return { name, columns, rows: flat };
}

const without = (value: Record<string, unknown>, key: string): Record<string, unknown> => Object.fromEntries(Object.entries(value).filter(([k]) => k !== key));

/**
 * The exportable tables of a section, default first; none when the section holds no table.
 * `analytic` is the step's analytic (from its pipeline), null when not known.
 */
export function sectionTables(analytic: string | null, data: unknown): SectionTable[] {
  switch (sectionKind(analytic, data)) {
    case 'tca':
    case 'execution': {
      if (!isObject(data)) return [];
      const by = isObject(data['by']) ? Object.entries(data['by']).filter((e): e is [string, unknown[]] => Array.isArray(e[1])) : [];
      return [
        ...by.map(([dimension, groups]) => tableOf(`by_${dimension}`, groups)),
        ...(isObject(data['total']) ? [tableOf('total', [data['total']])] : []),
        ...(Array.isArray(data['orders']) ? [tableOf('orders', data['orders'])] : []),
      ];
    }
    case 'risk': {
      if (!isObject(data) || !Array.isArray(data['by_desk']) || !isObject(data['total'])) return [];
      const figures = [...data['by_desk'].filter(isObject), data['total']];
      const levels = figures.flatMap((f) => (Array.isArray(f['levels']) ? f['levels'].filter(isObject).map((l) => ({ desk: f['desk'] ?? null, ...l })) : []));
      return [tableOf('by_desk', figures.map((f) => without(f, 'levels'))), tableOf('levels', levels)];
    }
    case 'performance':
      return Array.isArray(data) ? [tableOf('portfolios', data.map((p: unknown, i) => (isObject(p) ? { rank: i + 1, ...p } : p)))] : [];
    case 'backtest':
      return Array.isArray(data) ? [tableOf('ranking', data.map((r: unknown, i) => (isObject(r) ? { rank: i + 1, ...r } : r)))] : [];
    case 'untyped':
      return Array.isArray(data) && data.length > 0 && data.every(isObject) ? [tableOf('rows', data)] : [];
  }
}

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; null is empty. */
function csvField(cell: Cell): string {
  if (cell === null) return '';
  const text = String(cell);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The table as CSV (RFC 4180, CRLF line ends, a header line): numbers as JavaScript writes them
 * (the shortest text that reads back as the same double), an undefined figure (null) as an empty field.
 */
export function toCsv(table: SectionTable): string {
  const lines = [table.columns.map(csvField).join(','), ...table.rows.map((row) => table.columns.map((c) => csvField(row[c] ?? null)).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

/** The DuckDB type of a column: DOUBLE for numbers, BOOLEAN, else VARCHAR (also for a column of several kinds, or only nulls). */
export function columnType(table: SectionTable, column: string): 'DOUBLE' | 'BOOLEAN' | 'VARCHAR' {
  const kinds = new Set(table.rows.map((r) => r[column]).filter((v) => v !== null && v !== undefined).map((v) => typeof v));
  if (kinds.size === 1 && kinds.has('number')) return 'DOUBLE';
  if (kinds.size === 1 && kinds.has('boolean')) return 'BOOLEAN';
  return 'VARCHAR';
}
