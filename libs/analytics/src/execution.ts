import { type Db, sqlString } from './duckdb.js';
import { IncompatiblePartialsError, InvalidAnalyticsOptionsError } from './errors.js';
import { tableSource, type TableFiles } from './source.js';
import { TCA_DIMENSIONS, withInputs, type TcaDimension } from './tca.js';

export interface ExecutionInput {
  /** Paths (CSV or Parquet) of one partition's tables; a table may be split over several files. */
  orders: TableFiles;
  fills: TableFiles;
  /** Roll-up dimensions, each rolled up separately (default: broker, venue). */
  by?: TcaDimension[];
  /** Reported avg_px may differ from Σ(qty·px)/Σqty by this much (default 1e-6: OMS rounding to 6 dp). */
  avgPxTolerance?: number;
  /** Return one row per order in the partial (default false). */
  includeOrders?: boolean;
  /** Write the per-order execution report to this path (CSV, or Parquet by extension). */
  ordersOut?: string;
  threads?: number;
}

/** Additive counts and sums of one group. */
export interface ExecutionSums {
  orders: number;
  filled_orders: number;
  partially_filled_orders: number;
  cancelled_orders: number;
  rejected_orders: number;
  order_qty: number;
  executed_qty: number;
  notional: number;
  /** Effective executions after busts and corrections. */
  fills: number;
  busts: number;
  corrections: number;
  /** Σ seconds from arrival to the last effective fill over completely filled orders, and their count. */
  time_to_fill_seconds: number;
  timed_orders: number;
  /** Orders whose reported cum_qty ≠ Σ effective LastQty, or avg_px ≠ Σ(LastQty·LastPx)/Σ LastQty. */
  cum_qty_mismatches: number;
  avg_px_mismatches: number;
  overfilled_orders: number;
  /** Fill messages whose order is not in the orders file (total only). */
  orphan_fills: number;
}

export const EXECUTION_SUM_KEYS: readonly (keyof ExecutionSums)[] = [
  'orders', 'filled_orders', 'partially_filled_orders', 'cancelled_orders', 'rejected_orders', 'order_qty', 'executed_qty', 'notional',
  'fills', 'busts', 'corrections', 'time_to_fill_seconds', 'timed_orders', 'cum_qty_mismatches', 'avg_px_mismatches', 'overfilled_orders', 'orphan_fills',
];

export interface ExecutionGroupSums {
  dimension: 'total' | TcaDimension;
  key: string | null;
  sums: ExecutionSums;
}

export interface ExecutionOrderRow {
  order_id: string;
  desk: string;
  symbol: string;
  side: string;
  broker: string;
  algo: string;
  status: string;
  order_qty: number;
  executed_qty: number;
  reported_cum_qty: number;
  avg_px: number | null;
  reported_avg_px: number | null;
  fills: number;
  busts: number;
  corrections: number;
  first_fill_ts: string | null;
  last_fill_ts: string | null;
  time_to_fill_seconds: number | null;
  cum_qty_ok: boolean;
  avg_px_ok: boolean;
}

export interface ExecutionPartial {
  kind: 'execution-partial';
  version: 1;
  dimensions: TcaDimension[];
  groups: ExecutionGroupSums[];
  orders?: ExecutionOrderRow[];
}

export interface ExecutionMetrics extends ExecutionSums {
  /** Σ executed / Σ order quantity. */
  fill_rate_qty: number | null;
  /** Completely filled orders / orders. */
  fill_rate_count: number | null;
  /** Σ notional / Σ executed quantity (meaningful per order or symbol). */
  avg_px: number | null;
  avg_time_to_fill_seconds: number | null;
}

export interface ExecutionReport {
  total: ExecutionMetrics;
  by: Partial<Record<TcaDimension, Array<ExecutionMetrics & { key: string | null }>>>;
  orders?: ExecutionOrderRow[];
}

/**
 * Execution report over one partition: per order (CumQty and AvgPx invariants re-derived from the
 * effective fills, time to fill, busts and corrections applied) and rolled up per dimension.
 * Venue groups hold fill-level counts; order-level counts have venue = null.
 */
export async function runExecutionReport(input: ExecutionInput): Promise<ExecutionPartial> {
  const dimensions: TcaDimension[] = [...new Set<TcaDimension>(input.by ?? ['broker', 'venue'])];
  for (const d of dimensions) if (!TCA_DIMENSIONS.includes(d)) throw new InvalidAnalyticsOptionsError(`unknown dimension "${String(d)}"`);
  const tolerance = input.avgPxTolerance ?? 1e-6;
  return withInputs(
    [
      { table: 'orders', path: input.orders },
      { table: 'fills', path: input.fills },
    ],
    async (db) => {
      await buildExecutionLines(db, input, tolerance);
      const sums = EXECUTION_SUM_KEYS.map((k) => `sum(${k})::DOUBLE AS ${k}`).join(', ');
      const sets = ['()', ...dimensions.map((d) => `(${d})`)].join(', ');
      const flags = dimensions.map((d) => `, ${d}, grouping(${d}) AS g_${d}`).join('');
      const rows = await db.all(`SELECT ${sums}${flags} FROM xlines GROUP BY GROUPING SETS (${sets})`);
      const groups: ExecutionGroupSums[] = rows
        .map((row) => {
          const dimension: ExecutionGroupSums['dimension'] = dimensions.find((d) => row[`g_${d}`] === 0) ?? 'total';
          const s = {} as ExecutionSums;
          for (const k of EXECUTION_SUM_KEYS) s[k] = Number(row[k] ?? 0);
          return { dimension, key: dimension === 'total' ? null : ((row[dimension] as string | null) ?? null), sums: s };
        })
        .sort((a, b) => rank(a, dimensions) - rank(b, dimensions) || compareKeys(a.key, b.key));
      const partial: ExecutionPartial = { kind: 'execution-partial', version: 1, dimensions, groups };
      const orderSql = `SELECT order_id, desk, symbol, side, broker, algo, status, order_qty, executed_qty, reported_cum_qty, avg_px, reported_avg_px,
                               fills, busts, corrections, strftime(first_fill_ts, '%Y-%m-%d %H:%M:%S.%g') AS first_fill_ts,
                               strftime(last_fill_ts, '%Y-%m-%d %H:%M:%S.%g') AS last_fill_ts, time_to_fill_seconds, cum_qty_ok, avg_px_ok
                        FROM xorders ORDER BY order_id`;
      if (input.includeOrders) partial.orders = (await db.all(orderSql)) as unknown as ExecutionOrderRow[];
      if (input.ordersOut) {
        const format = /\.parquet$/i.test(input.ordersOut) ? 'FORMAT parquet' : 'FORMAT csv, HEADER true';
        await db.exec(`COPY (${orderSql}) TO ${sqlString(input.ordersOut)} (${format})`);
      }
      return partial;
    },
    input.threads,
  );
}

async function buildExecutionLines(db: Db, input: ExecutionInput, tolerance: number): Promise<void> {
  const orders = await tableSource(db, 'orders', input.orders);
  const fills = await tableSource(db, 'fills', input.fills);
  await db.exec(`
    CREATE TEMP TABLE o AS SELECT * FROM ${orders};
    CREATE TEMP TABLE f_all AS SELECT * FROM ${fills};
    CREATE TEMP TABLE f AS
      SELECT f.* FROM f_all f
      WHERE f.exec_type <> 'BUST' AND NOT EXISTS (SELECT 1 FROM f_all r WHERE r.ref_fill_id = f.fill_id AND r.exec_type IN ('BUST', 'CORRECT'));
    CREATE TEMP TABLE xorders AS
    WITH agg AS (
      SELECT order_id, count(*) AS fills, sum(last_qty) AS qty, sum(last_qty * last_px) AS notional, min(ts) AS first_fill_ts, max(ts) AS last_fill_ts
      FROM f GROUP BY order_id
    ), msgs AS (
      SELECT order_id, count(*) FILTER (exec_type = 'BUST') AS busts, count(*) FILTER (exec_type = 'CORRECT') AS corrections FROM f_all GROUP BY order_id
    )
    SELECT o.order_id, o.desk, o.symbol, o.side, o.broker, o.algo, o.trader, o.status, o.order_qty, o.arrival_ts,
           coalesce(a.qty, 0) AS executed_qty, coalesce(a.notional, 0) AS notional, o.cum_qty AS reported_cum_qty,
           a.notional / nullif(a.qty, 0) AS avg_px, o.avg_px AS reported_avg_px,
           coalesce(a.fills, 0) AS fills, coalesce(m.busts, 0) AS busts, coalesce(m.corrections, 0) AS corrections,
           a.first_fill_ts, a.last_fill_ts,
           CASE WHEN coalesce(a.qty, 0) >= o.order_qty THEN (epoch_us(a.last_fill_ts) - epoch_us(o.arrival_ts)) / 1e6 END AS time_to_fill_seconds,
           abs(o.cum_qty - coalesce(a.qty, 0)) <= 1e-9 AS cum_qty_ok,
           CASE WHEN coalesce(a.qty, 0) = 0 THEN coalesce(o.avg_px, 0) = 0
                ELSE o.avg_px IS NOT NULL AND abs(o.avg_px - a.notional / a.qty) <= ${tolerance}::DOUBLE END AS avg_px_ok
    FROM o LEFT JOIN agg a USING (order_id) LEFT JOIN msgs m USING (order_id);

    CREATE TEMP TABLE xlines AS
    -- Order lines: order-level counts (no venue).
    SELECT desk, symbol, broker, algo, trader, NULL::VARCHAR AS venue,
           1 AS orders, (executed_qty >= order_qty)::INT AS filled_orders, (status = 'PARTIALLY_FILLED')::INT AS partially_filled_orders,
           (status = 'CANCELLED')::INT AS cancelled_orders, (status = 'REJECTED')::INT AS rejected_orders,
           order_qty, 0.0 AS executed_qty, 0.0 AS notional, 0 AS fills, 0 AS busts, 0 AS corrections,
           coalesce(time_to_fill_seconds, 0) AS time_to_fill_seconds, (time_to_fill_seconds IS NOT NULL)::INT AS timed_orders,
           (NOT cum_qty_ok)::INT AS cum_qty_mismatches, (NOT avg_px_ok)::INT AS avg_px_mismatches, (executed_qty > order_qty)::INT AS overfilled_orders,
           0 AS orphan_fills
    FROM xorders
    UNION ALL
    -- Fill lines: effective executions per venue.
    SELECT o.desk, o.symbol, o.broker, o.algo, o.trader, f.venue, 0, 0, 0, 0, 0, 0.0, f.last_qty, f.last_qty * f.last_px, 1, 0, 0, 0.0, 0, 0, 0, 0, 0
    FROM f JOIN o USING (order_id)
    UNION ALL
    -- Bust and correction messages, attributed to their venue.
    SELECT o.desk, o.symbol, o.broker, o.algo, o.trader, f.venue, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0,
           (f.exec_type = 'BUST')::INT, (f.exec_type = 'CORRECT')::INT, 0.0, 0, 0, 0, 0, 0
    FROM f_all f JOIN o USING (order_id) WHERE f.exec_type IN ('BUST', 'CORRECT')
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0, 0, 0, 0.0, 0, 0, 0, 0, count(*)
    FROM f_all WHERE order_id NOT IN (SELECT order_id FROM o) HAVING count(*) > 0;
  `);
}

function rank(g: ExecutionGroupSums, dims: TcaDimension[]): number {
  return g.dimension === 'total' ? -1 : dims.indexOf(g.dimension);
}

function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** Ratios from sums. */
export function executionMetrics(s: ExecutionSums): ExecutionMetrics {
  return {
    ...s,
    fill_rate_qty: s.order_qty !== 0 ? s.executed_qty / s.order_qty : null,
    fill_rate_count: s.orders !== 0 ? s.filled_orders / s.orders : null,
    avg_px: s.executed_qty !== 0 ? s.notional / s.executed_qty : null,
    avg_time_to_fill_seconds: s.timed_orders !== 0 ? s.time_to_fill_seconds / s.timed_orders : null,
  };
}

/** Adds the sums of disjoint partitions per (dimension, key), then derives ratios. */
export function mergeExecutionPartials(parts: ExecutionPartial[]): ExecutionReport {
  if (parts.length === 0) throw new IncompatiblePartialsError('no execution partials to merge');
  const dims = parts[0].dimensions;
  const merged = new Map<string, ExecutionGroupSums>();
  for (const p of parts) {
    if (p.kind !== 'execution-partial' || p.version !== 1) throw new IncompatiblePartialsError(`not a version 1 execution partial`);
    if (p.dimensions.join(',') !== dims.join(',')) throw new IncompatiblePartialsError(`dimensions differ: ${dims.join(',')} vs ${p.dimensions.join(',')}`);
    for (const g of p.groups) {
      const id = JSON.stringify([g.dimension, g.key]);
      const target = merged.get(id) ?? { dimension: g.dimension, key: g.key, sums: Object.fromEntries(EXECUTION_SUM_KEYS.map((k) => [k, 0])) as unknown as ExecutionSums };
      for (const k of EXECUTION_SUM_KEYS) target.sums[k] += g.sums[k];
      merged.set(id, target);
    }
  }
  const groups = [...merged.values()].sort((a, b) => rank(a, dims) - rank(b, dims) || compareKeys(a.key, b.key));
  const total = groups.find((g) => g.dimension === 'total');
  const by: ExecutionReport['by'] = {};
  for (const d of dims) by[d] = groups.filter((g) => g.dimension === d).map((g) => ({ key: g.key, ...executionMetrics(g.sums) }));
  const report: ExecutionReport = {
    total: executionMetrics(total?.sums ?? (Object.fromEntries(EXECUTION_SUM_KEYS.map((k) => [k, 0])) as unknown as ExecutionSums)),
    by,
  };
  if (parts.some((p) => p.orders)) report.orders = parts.flatMap((p) => p.orders ?? []).sort((a, b) => compareKeys(a.order_id, b.order_id));
  return report;
}
