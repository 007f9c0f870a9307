import { DuckDBInstance } from '@duckdb/node-api';
import type { TcaMetrics, TcaReport } from '@nightshift/analytics';

/** The bench's whole-day inputs (one file per table). */
export interface BenchFiles {
  orders: string;
  fills: string;
  quotes: string;
  trades: string;
}

/** Headline TCA of one group as the hand-written query computes it. */
export interface HeadlineRow {
  dimension: 'total' | 'broker' | 'venue';
  key: string | null;
  arrival_slippage_bps: number | null;
  interval_vwap_slippage_bps: number | null;
  day_vwap_slippage_bps: number | null;
}

/** The metrics the hand-written query reproduces. */
export const HEADLINE_METRICS = ['arrival_slippage_bps', 'interval_vwap_slippage_bps', 'day_vwap_slippage_bps'] as const;

function reader(path: string): string {
  const literal = `'${path.replaceAll("'", "''")}'`;
  return /\.parquet$/i.test(path) ? `read_parquet(${literal})` : `read_csv(${literal}, header = true)`;
}

/**
 * What an analyst would write by hand for the headline numbers, in one statement: arrival and
 * interval/day VWAP slippage in bps (positive = cost), notional-weighted, in total and by broker and
 * venue. Same definitions as the analytic (docs/analytics.md):
 *
 * - effective fills: BUST rows dropped, and every fill a BUST or CORRECT refers to;
 * - arrival price: the order's arrival_px, else the mid of the quote prevailing at arrival_ts;
 * - interval VWAP: market prints in (arrival_ts, end_ts], from the cumulative tape at both ends;
 * - day VWAP: all prints of the symbol;
 * - slippage = 1e4 × Σ side·q·(p − benchmark) / Σ q·benchmark over the group's fills.
 */
export function handWrittenTcaSql(files: BenchFiles): string {
  return `
    WITH o AS (
      SELECT order_id, symbol, broker, CASE WHEN side = 'BUY' THEN 1 ELSE -1 END AS sign, arrival_ts, end_ts, arrival_px
      FROM ${reader(files.orders)}
    ), fa AS (
      SELECT fill_id, order_id, exec_type, ref_fill_id, venue, last_qty, last_px FROM ${reader(files.fills)}
    ), f AS (
      SELECT * FROM fa WHERE exec_type <> 'BUST'
        AND fill_id NOT IN (SELECT ref_fill_id FROM fa WHERE exec_type IN ('BUST', 'CORRECT') AND ref_fill_id IS NOT NULL)
    ), tape AS (
      SELECT symbol, ts, sum(qty) AS v, sum(qty * price) AS pv FROM ${reader(files.trades)}
      WHERE symbol IN (SELECT symbol FROM o) GROUP BY symbol, ts
    ), cum AS (
      SELECT symbol, ts, sum(v) OVER w AS cv, sum(pv) OVER w AS cpv FROM tape
      WINDOW w AS (PARTITION BY symbol ORDER BY ts ROWS UNBOUNDED PRECEDING)
    ), day AS (
      SELECT symbol, sum(pv) / nullif(sum(v), 0) AS day_vwap FROM tape GROUP BY symbol
    ), q AS (
      SELECT symbol, ts, (bid + ask) / 2 AS mid FROM ${reader(files.quotes)} WHERE symbol IN (SELECT symbol FROM o)
    ), ob AS (
      SELECT o.order_id, o.broker, o.sign, coalesce(o.arrival_px, qa.mid) AS arrival,
             CASE WHEN coalesce(e.cv, 0) - coalesce(s.cv, 0) > 0 THEN (e.cpv - coalesce(s.cpv, 0)) / (e.cv - coalesce(s.cv, 0)) END AS ivwap,
             day.day_vwap
      FROM o
      ASOF LEFT JOIN q qa ON qa.symbol = o.symbol AND qa.ts <= o.arrival_ts
      ASOF LEFT JOIN cum s ON s.symbol = o.symbol AND s.ts < o.arrival_ts
      ASOF LEFT JOIN cum e ON e.symbol = o.symbol AND e.ts <= o.end_ts
      LEFT JOIN day ON day.symbol = o.symbol
    ), lines AS (
      SELECT ob.broker, f.venue,
             coalesce(ob.sign * f.last_qty * (f.last_px - ob.arrival), 0) AS arrival_cost, coalesce(f.last_qty * ob.arrival, 0) AS arrival_base,
             coalesce(ob.sign * f.last_qty * (f.last_px - ob.ivwap), 0) AS ivwap_cost, coalesce(f.last_qty * ob.ivwap, 0) AS ivwap_base,
             coalesce(ob.sign * f.last_qty * (f.last_px - ob.day_vwap), 0) AS dvwap_cost, coalesce(f.last_qty * ob.day_vwap, 0) AS dvwap_base
      FROM f JOIN ob USING (order_id)
    )
    SELECT CASE WHEN grouping(broker) = 0 THEN 'broker' WHEN grouping(venue) = 0 THEN 'venue' ELSE 'total' END AS dimension,
           coalesce(broker, venue) AS key,
           1e4 * sum(arrival_cost) / nullif(sum(arrival_base), 0) AS arrival_slippage_bps,
           1e4 * sum(ivwap_cost) / nullif(sum(ivwap_base), 0) AS interval_vwap_slippage_bps,
           1e4 * sum(dvwap_cost) / nullif(sum(dvwap_base), 0) AS day_vwap_slippage_bps
    FROM lines GROUP BY GROUPING SETS ((), (broker), (venue)) ORDER BY dimension, key`;
}

/**
 * Runs the hand-written query in a fresh in-memory DuckDB instance, as the analytic does per call,
 * so both timings include the same start-up.
 */
export async function runHandWrittenTca(files: BenchFiles, threads?: number): Promise<HeadlineRow[]> {
  const instance = await DuckDBInstance.create(':memory:', threads !== undefined ? { threads: String(threads) } : {});
  try {
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(handWrittenTcaSql(files));
      return reader.getRowObjectsJS().map((r) => ({
        dimension: r['dimension'] as HeadlineRow['dimension'],
        key: (r['key'] as string | null) ?? null,
        arrival_slippage_bps: toNumber(r['arrival_slippage_bps']),
        interval_vwap_slippage_bps: toNumber(r['interval_vwap_slippage_bps']),
        day_vwap_slippage_bps: toNumber(r['day_vwap_slippage_bps']),
      }));
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

function toNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** Outcome of comparing two results value by value. */
export interface AgreementCheck {
  /** Values present on both sides and compared. */
  compared: number;
  /** max |a − b| / max(|a|, |b|) over the compared values (0 when equal). */
  max_relative_difference: number;
  tolerance: number;
  /** Human descriptions of the values that differ by more than the tolerance or exist on one side only. */
  mismatches: string[];
}

/** Relative difference that is 0 for equal values (including both zero). */
export function relativeDifference(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

class Checker {
  readonly result: AgreementCheck;

  constructor(tolerance: number) {
    this.result = { compared: 0, max_relative_difference: 0, tolerance, mismatches: [] };
  }

  compare(what: string, a: number | null | undefined, b: number | null | undefined): void {
    const missingA = a === null || a === undefined;
    const missingB = b === null || b === undefined;
    if (missingA && missingB) return;
    if (missingA || missingB) {
      this.result.mismatches.push(`${what}: ${String(a ?? null)} vs ${String(b ?? null)}`);
      return;
    }
    const diff = relativeDifference(a, b);
    this.result.compared += 1;
    this.result.max_relative_difference = Math.max(this.result.max_relative_difference, diff);
    if (!(diff <= this.result.tolerance)) this.result.mismatches.push(`${what}: ${a} vs ${b} (relative difference ${diff.toExponential(2)})`);
  }
}

/**
 * Compares the analytic's report with the hand-written query's rows on the headline metrics. A
 * group present on only one side is a mismatch unless its metrics are all null (the analytic's
 * venue roll-up has a null-venue group for order-level quantities, with no fills in it).
 */
export function compareHeadline(report: TcaReport, rows: HeadlineRow[], tolerance = 1e-6): AgreementCheck {
  const check = new Checker(tolerance);
  const analytic = new Map<string, TcaMetrics>([[groupId('total', null), report.total]]);
  for (const dimension of ['broker', 'venue'] as const) {
    for (const group of report.by[dimension] ?? []) analytic.set(groupId(dimension, group.key), group);
  }
  const hand = new Map(rows.map((r) => [groupId(r.dimension, r.key), r] as const));
  for (const id of new Set([...analytic.keys(), ...hand.keys()])) {
    for (const metric of HEADLINE_METRICS) check.compare(`${id} ${metric}`, analytic.get(id)?.[metric], hand.get(id)?.[metric]);
  }
  return check.result;
}

/** Compares every metric of two TCA reports (e.g. merged partitions against one whole-day run). */
export function compareReports(a: TcaReport, b: TcaReport, tolerance = 1e-6): AgreementCheck {
  const check = new Checker(tolerance);
  const groups = (r: TcaReport): Map<string, TcaMetrics> => {
    const out = new Map<string, TcaMetrics>([[groupId('total', null), r.total]]);
    for (const [dimension, list] of Object.entries(r.by)) for (const g of list ?? []) out.set(groupId(dimension, g.key), g);
    return out;
  };
  const ga = groups(a);
  const gb = groups(b);
  for (const id of new Set([...ga.keys(), ...gb.keys()])) {
    const ma = ga.get(id);
    const mb = gb.get(id);
    if (!ma || !mb) {
      check.result.mismatches.push(`${id}: present in only one report`);
      continue;
    }
    for (const metric of Object.keys(ma) as Array<keyof TcaMetrics>) {
      if (metric === ('key' as keyof TcaMetrics)) continue;
      check.compare(`${id} ${metric}`, ma[metric], mb[metric]);
    }
  }
  return check.result;
}

function groupId(dimension: string, key: string | null): string {
  return dimension === 'total' ? 'total' : `${dimension}=${key ?? '(none)'}`;
}
