/**
 * Column schemas of the data tables. One definition drives the generator's column order, the
 * validator's checks and the readers' casts, so the three cannot drift apart.
 */

/** Tables of one business day, and return series (`returns`: one portfolio's or the benchmark's). */
export type TableName = 'prices' | 'quotes' | 'trades' | 'orders' | 'fills' | 'returns';

export type ColumnType = 'VARCHAR' | 'DOUBLE' | 'DATE' | 'TIMESTAMP';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** A value must be present on every row (empty field = problem). */
  required: boolean;
}

/** A row rule: `valid` is an SQL boolean over the typed row; NULL counts as valid (required checks are separate). */
export interface RowRule {
  column: string;
  valid: string;
  message: string;
}

export interface TableSchema {
  columns: ColumnSpec[];
  rules: RowRule[];
}

const req = (name: string, type: ColumnType): ColumnSpec => ({ name, type, required: true });
const opt = (name: string, type: ColumnType): ColumnSpec => ({ name, type, required: false });
const positive = (column: string): RowRule => ({ column, valid: `${column} > 0`, message: `${column} must be > 0` });
const nonNegative = (column: string): RowRule => ({ column, valid: `${column} >= 0`, message: `${column} must be >= 0` });
const oneOf = (column: string, values: string[]): RowRule => ({
  column,
  valid: `${column} IN (${values.map((v) => `'${v}'`).join(', ')})`,
  message: `${column} must be one of ${values.join(', ')}`,
});

/** Order sides, FIX-style execution types and terminal order states used by the tables. */
export const SIDES = ['BUY', 'SELL'] as const;
export const EXEC_TYPES = ['FILL', 'BUST', 'CORRECT'] as const;
export const ORDER_STATUSES = ['FILLED', 'PARTIALLY_FILLED', 'CANCELLED', 'REJECTED'] as const;

export const SCHEMAS: Record<TableName, TableSchema> = {
  /** Daily bars (history window ending at the business date). */
  prices: {
    columns: [req('date', 'DATE'), req('symbol', 'VARCHAR'), req('open', 'DOUBLE'), req('high', 'DOUBLE'), req('low', 'DOUBLE'), req('close', 'DOUBLE'), req('volume', 'DOUBLE')],
    rules: [positive('open'), positive('close'), positive('high'), positive('low'), nonNegative('volume'), { column: 'high', valid: 'high >= low', message: 'high must be >= low' }],
  },
  /** Top of book. */
  quotes: {
    columns: [req('ts', 'TIMESTAMP'), req('symbol', 'VARCHAR'), req('bid', 'DOUBLE'), req('ask', 'DOUBLE'), req('bid_size', 'DOUBLE'), req('ask_size', 'DOUBLE')],
    rules: [positive('bid'), positive('ask'), nonNegative('bid_size'), nonNegative('ask_size'), { column: 'ask', valid: 'ask >= bid', message: 'ask must be >= bid (crossed quote)' }],
  },
  /** Market prints (the consolidated tape). */
  trades: {
    columns: [req('ts', 'TIMESTAMP'), req('symbol', 'VARCHAR'), req('price', 'DOUBLE'), req('qty', 'DOUBLE')],
    rules: [positive('price'), positive('qty')],
  },
  /** Parent orders with their final OMS state (cum_qty/avg_px after busts and corrections). */
  orders: {
    columns: [
      req('order_id', 'VARCHAR'), req('desk', 'VARCHAR'), req('trader', 'VARCHAR'), req('symbol', 'VARCHAR'), req('side', 'VARCHAR'),
      req('order_qty', 'DOUBLE'), opt('limit_px', 'DOUBLE'), req('decision_ts', 'TIMESTAMP'), req('decision_px', 'DOUBLE'),
      req('arrival_ts', 'TIMESTAMP'), opt('arrival_px', 'DOUBLE'), req('broker', 'VARCHAR'), req('algo', 'VARCHAR'),
      req('status', 'VARCHAR'), req('end_ts', 'TIMESTAMP'), req('cum_qty', 'DOUBLE'), opt('avg_px', 'DOUBLE'),
    ],
    rules: [
      oneOf('side', [...SIDES]), oneOf('status', [...ORDER_STATUSES]), positive('order_qty'), positive('limit_px'), positive('decision_px'),
      positive('arrival_px'), nonNegative('cum_qty'), positive('avg_px'),
      { column: 'cum_qty', valid: 'cum_qty <= order_qty', message: 'cum_qty must be <= order_qty' },
      { column: 'arrival_ts', valid: 'arrival_ts >= decision_ts', message: 'arrival_ts must be >= decision_ts' },
      { column: 'end_ts', valid: 'end_ts >= arrival_ts', message: 'end_ts must be >= arrival_ts' },
    ],
  },
  /** Child executions; BUST and CORRECT rows reference the fill they cancel or replace. */
  fills: {
    columns: [
      req('fill_id', 'VARCHAR'), req('order_id', 'VARCHAR'), req('exec_type', 'VARCHAR'), opt('ref_fill_id', 'VARCHAR'), req('ts', 'TIMESTAMP'),
      req('venue', 'VARCHAR'), req('last_qty', 'DOUBLE'), req('last_px', 'DOUBLE'), req('commission', 'DOUBLE'), req('fees', 'DOUBLE'),
    ],
    rules: [
      oneOf('exec_type', [...EXEC_TYPES]), positive('last_qty'), positive('last_px'), nonNegative('commission'),
      { column: 'ref_fill_id', valid: "exec_type = 'FILL' OR ref_fill_id IS NOT NULL", message: 'ref_fill_id is required for BUST and CORRECT' },
    ],
  },
  /** A daily return series (`date,return`, simple returns); an empty return is a missing observation, as `computeMetrics` reads it. */
  returns: {
    columns: [req('date', 'DATE'), opt('return', 'DOUBLE')],
    rules: [{ column: 'return', valid: '"return" >= -1', message: 'return must be >= -1 (a loss beyond 100%)' }],
  },
};

export const TABLE_NAMES = Object.keys(SCHEMAS) as TableName[];
