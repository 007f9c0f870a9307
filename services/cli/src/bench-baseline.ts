import { DuckDBInstance } from '@duckdb/node-api';
import { DEFAULT_MARKOUT_HORIZONS, type TcaHorizonMetricKey, type TcaMetrics, type TcaReport } from '@nightshift/analytics';

/** The bench's whole-day inputs: one file per table, or (quotes and trades split by symbol) a list. */
export interface BenchFiles {
  orders: string;
  fills: string;
  quotes: string | string[];
  trades: string | string[];
}

/** One group of the TCA report as the hand-written query computes it: every metric of `TcaMetrics`. */
export type HandWrittenTcaRow = TcaMetrics & {
  dimension: 'total' | 'broker' | 'venue';
  key: string | null;
};

/**
 * Every metric of `TcaMetrics`, as a record so that a metric added to the report without being
 * added here (and to the query) fails to compile instead of silently escaping the cross-check.
 */
const METRIC_KEYS: Record<keyof TcaMetrics, true> = {
  orders: true, filled_orders: true, fills: true, order_qty: true, executed_qty: true, notional: true, fill_rate: true,
  arrival_slippage_bps: true, interval_vwap_slippage_bps: true, day_vwap_slippage_bps: true, twap_slippage_bps: true,
  commission_bps: true, fees_bps: true, implementation_shortfall: true, implementation_shortfall_bps: true, is_delay_bps: true,
  is_execution_bps: true, is_opportunity_bps: true, is_fees_bps: true, effective_spread_bps: true, realized_spread_bps: true,
  price_impact_bps: true, spread_capture: true, participation_rate: true, rpm: true, price_improvement_bps: true,
  improved_fill_share: true, at_quote_fill_share: true, outside_quote_fill_share: true,
};

/** The metrics the hand-written query reproduces and the bench compares: all of them (and every horizon's, below). */
export const TCA_METRICS = Object.keys(METRIC_KEYS) as Array<keyof TcaMetrics>;

/** Realized spread and price impact at each markout horizon: `realized_spread_60s_bps`, `price_impact_60s_bps`, ... */
export function horizonMetricKeys(horizons: readonly number[]): TcaHorizonMetricKey[] {
  return horizons.flatMap((h): TcaHorizonMetricKey[] => [`realized_spread_${h}s_bps`, `price_impact_${h}s_bps`]);
}

/** One reader call over the file or files (all of one format), as an analyst would write it. */
function reader(paths: string | string[]): string {
  const list = typeof paths === 'string' ? [paths] : paths;
  const literal = list.length === 1 ? `'${list[0]!.replaceAll("'", "''")}'` : `[${list.map((p) => `'${p.replaceAll("'", "''")}'`).join(', ')}]`;
  return /\.parquet$/i.test(list[0] ?? '') ? `read_parquet(${literal})` : `read_csv(${literal}, header = true)`;
}

/**
 * The whole TCA report (total, by broker, by venue) as an analyst would write it by hand from the
 * definitions in docs/analytics.md, in one statement:
 *
 * - effective fills: BUST rows dropped, and every fill a BUST or CORRECT refers to (anti join);
 * - the quotes carry the running time-integral of the mid (TWAP = ΔI / Δt between arrival and
 *   end); every quote look-up (arrival, end, fill, fill + each markout horizon) is a point in ONE ASOF join, so
 *   the 10M quotes are sorted once (six separate ASOF joins measured 1.5x slower at 2M quotes);
 * - the tape is aggregated per timestamp with running volume and value, so interval VWAP is a
 *   difference of two look-ups (prints in (arrival_ts, end_ts]) in one ASOF join; the day's VWAP
 *   and close (VWAP of the last timestamp's prints) are the tape's last row per symbol;
 * - one line per effective fill and one per order (order size, unfilled opportunity cost, market
 *   volume of its interval), summed with compensated `fsum` per GROUPING SET and divided there.
 *
 * The arithmetic of the running integral and the cumulative tape is written in the order the
 * definitions state it; both feed differences of large running sums (TWAP and interval VWAP) that
 * are then differenced again against fill prices, so a different association would already move
 * the bps in the 1e-10 range.
 */
export function handWrittenTcaSql(files: BenchFiles, horizons: readonly number[] = DEFAULT_MARKOUT_HORIZONS): string {
  // Per markout horizon i: its look-up points, the mid there, and realized spread / price impact.
  const each = (fn: (h: number, i: number) => string, sep = ''): string => horizons.map(fn).join(sep);
  return `
    WITH o AS (
      SELECT order_id, symbol, broker, CASE WHEN side = 'BUY' THEN 1.0 ELSE -1.0 END AS s,
             order_qty::DOUBLE AS x, decision_px::DOUBLE AS d, arrival_px::DOUBLE AS arrival_px,
             arrival_ts::TIMESTAMP AS arrival_ts, end_ts::TIMESTAMP AS end_ts
      FROM ${reader(files.orders)}
    ), msg AS (
      SELECT m.fill_id, m.order_id, m.exec_type, m.ref_fill_id, m.ts::TIMESTAMP AS ts, m.venue,
             m.last_qty::DOUBLE AS q, m.last_px::DOUBLE AS p, m.commission::DOUBLE AS commission, m.fees::DOUBLE AS fees
      FROM ${reader(files.fills)} m SEMI JOIN o USING (order_id)
    ), f AS (
      SELECT m.*, o.symbol, o.broker, o.s
      FROM msg m
      ANTI JOIN (SELECT ref_fill_id FROM msg WHERE exec_type IN ('BUST', 'CORRECT')) r ON r.ref_fill_id = m.fill_id
      JOIN o USING (order_id)
      WHERE m.exec_type <> 'BUST'
    ), q AS (
      SELECT symbol, ts, bid, ask, mid, sum(area) OVER (PARTITION BY symbol ORDER BY ts ROWS UNBOUNDED PRECEDING) - area AS integral
      FROM (
        SELECT symbol, ts, bid, ask, mid, mid * coalesce(epoch_us(lead(ts) OVER (PARTITION BY symbol ORDER BY ts)) - epoch_us(ts), 0) / 1e6 AS area
        FROM (SELECT symbol, ts::TIMESTAMP AS ts, bid::DOUBLE AS bid, ask::DOUBLE AS ask, (bid::DOUBLE + ask::DOUBLE) / 2 AS mid
              FROM ${reader(files.quotes)} WHERE symbol IN (SELECT symbol FROM o))
      )
    ), tape AS MATERIALIZED (
      SELECT symbol, ts, v, pv, sum(v) OVER w AS cv, sum(pv) OVER w AS cpv
      FROM (SELECT symbol, ts::TIMESTAMP AS ts, sum(qty::DOUBLE) AS v, sum(qty::DOUBLE * price::DOUBLE) AS pv
            FROM ${reader(files.trades)} WHERE symbol IN (SELECT symbol FROM o) GROUP BY ALL)
      WINDOW w AS (PARTITION BY symbol ORDER BY ts ROWS UNBOUNDED PRECEDING)
    ), day AS (
      SELECT symbol, arg_max(cpv, ts) / nullif(arg_max(cv, ts), 0) AS day_vwap, arg_max(pv / v, ts) AS close_px FROM tape GROUP BY symbol
    ), qpt AS (
      -- Every quote look-up (arrival, end, fill, markout) in one ASOF join, so the quotes are sorted once.
      SELECT p.id, p.role, q.ts AS qts, q.bid, q.ask, q.mid, q.integral + q.mid * (epoch_us(p.ts) - epoch_us(q.ts)) / 1e6 AS integral
      FROM (SELECT symbol, order_id AS id, 'a' AS role, arrival_ts AS ts FROM o
            UNION ALL SELECT symbol, order_id, 'e', end_ts FROM o
            UNION ALL SELECT symbol, fill_id, 'f', ts FROM f
            ${each((h, i) => `UNION ALL SELECT symbol, fill_id, 'h${i}', ts + to_microseconds(${Math.round(h * 1e6)}::BIGINT) FROM f`, '\n            ')}) p
      ASOF LEFT JOIN q ON q.symbol = p.symbol AND q.ts <= p.ts
    ), tpt AS (
      -- Both ends of every interval in one ASOF join on the cumulative tape; "< arrival" is "<= arrival - 1us".
      SELECT p.id, p.role, t.cv, t.cpv
      FROM (SELECT symbol, order_id AS id, 'b' AS role, arrival_ts - INTERVAL 1 MICROSECOND AS ts FROM o
            UNION ALL SELECT symbol, order_id, 'e', end_ts FROM o) p
      ASOF LEFT JOIN tape t ON t.symbol = p.symbol AND t.ts <= p.ts
    ), ob AS (
      SELECT o.*, coalesce(o.arrival_px, qa.mid) AS a,
             CASE WHEN o.end_ts > o.arrival_ts AND qa.qts IS NOT NULL
                  THEN (qe.integral - qa.integral) / ((epoch_us(o.end_ts) - epoch_us(o.arrival_ts)) / 1e6)
                  ELSE qa.mid END AS twap,
             coalesce(te.cv, 0) - coalesce(tb.cv, 0) AS iv_v,
             CASE WHEN coalesce(te.cv, 0) - coalesce(tb.cv, 0) > 0 THEN (te.cpv - coalesce(tb.cpv, 0)) / (te.cv - coalesce(tb.cv, 0)) END AS ivwap,
             day.day_vwap, day.close_px
      FROM o
      LEFT JOIN qpt qa ON qa.id = o.order_id AND qa.role = 'a'
      LEFT JOIN qpt qe ON qe.id = o.order_id AND qe.role = 'e'
      LEFT JOIN tpt tb ON tb.id = o.order_id AND tb.role = 'b'
      LEFT JOIN tpt te ON te.id = o.order_id AND te.role = 'e'
      LEFT JOIN day ON day.symbol = o.symbol
    ), fq AS (
      SELECT f.*, q0.bid, q0.ask, q0.mid AS m${each((_, i) => `, qh${i}.mid AS m_h${i}`)}
      FROM f
      LEFT JOIN qpt q0 ON q0.id = f.fill_id AND q0.role = 'f'
      ${each((_, i) => `LEFT JOIN qpt qh${i} ON qh${i}.id = f.fill_id AND qh${i}.role = 'h${i}'`, '\n      ')}
    ), executed AS (
      SELECT order_id, sum(q) AS qty, CAST(sum(q * p) / sum(q) AS DECIMAL(18, 6)) AS avg_px FROM f GROUP BY order_id
    ), rpm AS (
      -- Kissell's RPM per filled order: every print of its interval [arrival, end] against its average
      -- price (both at 6 dp): worse (above for a buy, below for a sell) counts whole, equal counts half.
      SELECT o.order_id,
             sum(CASE WHEN t.px = e.avg_px THEN t.qty / 2 WHEN o.s * (t.px - e.avg_px) > 0 THEN t.qty ELSE 0 END) AS rpm_num,
             sum(t.qty) AS rpm_den
      FROM o JOIN executed e USING (order_id)
      JOIN (SELECT symbol, ts::TIMESTAMP AS ts, CAST(price AS DECIMAL(18, 6)) AS px, qty::DOUBLE AS qty FROM ${reader(files.trades)}) t
        ON t.symbol = o.symbol AND t.ts >= o.arrival_ts AND t.ts <= o.end_ts
      GROUP BY o.order_id
    ), lines AS (
      SELECT ob.broker, fq.venue,
             0.0 AS n_orders, 0.0 AS n_filled, 1.0 AS n_fills, 0.0 AS order_qty, fq.q AS exec_qty, fq.q * fq.p AS notional,
             coalesce(ob.s * fq.q * (fq.p - ob.a), 0) AS arr_cost, coalesce(fq.q * ob.a, 0) AS arr_base,
             coalesce(ob.s * fq.q * (fq.p - ob.ivwap), 0) AS iv_cost, coalesce(fq.q * ob.ivwap, 0) AS iv_base,
             coalesce(ob.s * fq.q * (fq.p - ob.day_vwap), 0) AS dv_cost, coalesce(fq.q * ob.day_vwap, 0) AS dv_base,
             coalesce(ob.s * fq.q * (fq.p - ob.twap), 0) AS tw_cost, coalesce(fq.q * ob.twap, 0) AS tw_base,
             fq.commission, fq.fees,
             fq.q * ob.d AS paper,
             coalesce(ob.s * fq.q * (ob.a - ob.d), 0) AS delay,
             coalesce(ob.s * fq.q * (fq.p - ob.a), 0) AS execution,
             0.0 AS opportunity,
             coalesce(2 * ob.s * fq.q * (fq.p - fq.m), 0) AS eff_cost,
             coalesce(fq.q * fq.m, 0) AS spread_base,
             CASE WHEN fq.ask > fq.bid THEN fq.q * ob.s * (CASE WHEN ob.s > 0 THEN fq.ask ELSE fq.bid END - fq.p) ELSE 0 END AS capture_num,
             CASE WHEN fq.ask > fq.bid THEN fq.q * (fq.ask - fq.bid) ELSE 0 END AS capture_den,
             0.0 AS market_volume, 0.0 AS participating_qty,
             coalesce(fq.q * ob.s * (CASE WHEN ob.s > 0 THEN fq.ask ELSE fq.bid END - fq.p), 0) AS pi_num,
             coalesce(fq.q * CASE WHEN ob.s > 0 THEN fq.ask ELSE fq.bid END, 0) AS pi_base,
             CASE WHEN fq.m IS NULL THEN 0.0 ELSE 1.0 END AS quoted,
             CASE WHEN ob.s * (CAST(CASE WHEN ob.s > 0 THEN fq.ask ELSE fq.bid END AS DECIMAL(18, 6)) - CAST(fq.p AS DECIMAL(18, 6))) > 0 THEN 1.0 ELSE 0.0 END AS improved,
             CASE WHEN CAST(CASE WHEN ob.s > 0 THEN fq.ask ELSE fq.bid END AS DECIMAL(18, 6)) = CAST(fq.p AS DECIMAL(18, 6)) THEN 1.0 ELSE 0.0 END AS at_quote,
             CASE WHEN ob.s * (CAST(CASE WHEN ob.s > 0 THEN fq.ask ELSE fq.bid END AS DECIMAL(18, 6)) - CAST(fq.p AS DECIMAL(18, 6))) < 0 THEN 1.0 ELSE 0.0 END AS outside,
             0.0 AS rpm_num, 0.0 AS rpm_den${each((_, i) => `,
             coalesce(2 * ob.s * fq.q * (fq.p - fq.m_h${i}), 0) AS real_cost_${i}, coalesce(2 * ob.s * fq.q * (fq.m_h${i} - fq.m), 0) AS impact_cost_${i}`)}
      FROM fq JOIN ob USING (order_id)
      UNION ALL
      SELECT ob.broker, NULL,
             1.0, CASE WHEN coalesce(e.qty, 0) >= ob.x THEN 1.0 ELSE 0.0 END, 0.0, ob.x, 0.0, 0.0,
             0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
             greatest(ob.x - coalesce(e.qty, 0), 0) * ob.d,
             0.0, 0.0,
             coalesce(ob.s * greatest(ob.x - coalesce(e.qty, 0), 0) * (ob.close_px - ob.d), 0),
             0.0, 0.0, 0.0, 0.0,
             CASE WHEN ob.iv_v > 0 THEN ob.iv_v ELSE 0 END,
             CASE WHEN ob.iv_v > 0 THEN coalesce(e.qty, 0) ELSE 0 END,
             0.0, 0.0, 0.0, 0.0, 0.0, 0.0, coalesce(r.rpm_num, 0), coalesce(r.rpm_den, 0)${each(() => ', 0.0, 0.0')}
      FROM ob LEFT JOIN executed e USING (order_id) LEFT JOIN rpm r USING (order_id)
    ), sums AS (
      SELECT CASE WHEN grouping(broker) = 0 THEN 'broker' WHEN grouping(venue) = 0 THEN 'venue' ELSE 'total' END AS dimension,
             CASE WHEN grouping(broker) = 0 THEN broker ELSE venue END AS key,
             fsum(n_orders) AS n_orders, fsum(n_filled) AS n_filled, fsum(n_fills) AS n_fills, fsum(order_qty) AS order_qty,
             fsum(exec_qty) AS exec_qty, fsum(notional) AS notional, fsum(arr_cost) AS arr_cost, fsum(arr_base) AS arr_base,
             fsum(iv_cost) AS iv_cost, fsum(iv_base) AS iv_base, fsum(dv_cost) AS dv_cost, fsum(dv_base) AS dv_base,
             fsum(tw_cost) AS tw_cost, fsum(tw_base) AS tw_base, fsum(commission) AS commission, fsum(fees) AS fees,
             fsum(paper) AS paper, fsum(delay) AS delay, fsum(execution) AS execution, fsum(opportunity) AS opportunity,
             fsum(eff_cost) AS eff_cost, fsum(spread_base) AS spread_base,
             fsum(capture_num) AS capture_num, fsum(capture_den) AS capture_den,
             fsum(market_volume) AS market_volume, fsum(participating_qty) AS participating_qty,
             fsum(pi_num) AS pi_num, fsum(pi_base) AS pi_base, fsum(quoted) AS quoted, fsum(improved) AS improved,
             fsum(at_quote) AS at_quote, fsum(outside) AS outside, fsum(rpm_num) AS rpm_num, fsum(rpm_den) AS rpm_den${each((_, i) => `,
             fsum(real_cost_${i}) AS real_cost_${i}, fsum(impact_cost_${i}) AS impact_cost_${i}`)}
      FROM lines GROUP BY GROUPING SETS ((), (broker), (venue))
    )
    SELECT dimension, key,
           n_orders AS orders, n_filled AS filled_orders, n_fills AS fills, order_qty, exec_qty AS executed_qty, notional,
           exec_qty / nullif(order_qty, 0) AS fill_rate,
           1e4 * arr_cost / nullif(arr_base, 0) AS arrival_slippage_bps,
           1e4 * iv_cost / nullif(iv_base, 0) AS interval_vwap_slippage_bps,
           1e4 * dv_cost / nullif(dv_base, 0) AS day_vwap_slippage_bps,
           1e4 * tw_cost / nullif(tw_base, 0) AS twap_slippage_bps,
           1e4 * commission / nullif(notional, 0) AS commission_bps,
           1e4 * fees / nullif(notional, 0) AS fees_bps,
           delay + execution + opportunity + commission + fees AS implementation_shortfall,
           1e4 * (delay + execution + opportunity + commission + fees) / nullif(paper, 0) AS implementation_shortfall_bps,
           1e4 * delay / nullif(paper, 0) AS is_delay_bps,
           1e4 * execution / nullif(paper, 0) AS is_execution_bps,
           1e4 * opportunity / nullif(paper, 0) AS is_opportunity_bps,
           1e4 * (commission + fees) / nullif(paper, 0) AS is_fees_bps,
           1e4 * eff_cost / nullif(spread_base, 0) AS effective_spread_bps,
           1e4 * real_cost_0 / nullif(spread_base, 0) AS realized_spread_bps,
           1e4 * impact_cost_0 / nullif(spread_base, 0) AS price_impact_bps,${each((h, i) => `
           1e4 * real_cost_${i} / nullif(spread_base, 0) AS realized_spread_${h}s_bps,
           1e4 * impact_cost_${i} / nullif(spread_base, 0) AS price_impact_${h}s_bps,`)}
           capture_num / nullif(capture_den, 0) AS spread_capture,
           participating_qty / nullif(market_volume, 0) AS participation_rate,
           rpm_num / nullif(rpm_den, 0) AS rpm,
           1e4 * pi_num / nullif(pi_base, 0) AS price_improvement_bps,
           improved / nullif(quoted, 0) AS improved_fill_share,
           at_quote / nullif(quoted, 0) AS at_quote_fill_share,
           outside / nullif(quoted, 0) AS outside_quote_fill_share
    FROM sums ORDER BY dimension, key NULLS LAST`;
}

/**
 * Runs the hand-written query in a fresh in-memory DuckDB instance, as the analytic does per call,
 * so both timings include the same start-up.
 */
export async function runHandWrittenTca(files: BenchFiles, threads?: number, horizons: readonly number[] = DEFAULT_MARKOUT_HORIZONS): Promise<HandWrittenTcaRow[]> {
  const instance = await DuckDBInstance.create(':memory:', threads !== undefined ? { threads: String(threads) } : {});
  try {
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(handWrittenTcaSql(files, horizons));
      return reader.getRowObjectsJS().map((r) => {
        const row = { dimension: r['dimension'] as HandWrittenTcaRow['dimension'], key: (r['key'] as string | null) ?? null } as HandWrittenTcaRow;
        for (const metric of [...TCA_METRICS, ...horizonMetricKeys(horizons)]) {
          // Counts and the shortfall are never null (sums over at least one line); ratios are null on a zero base.
          (row as unknown as Record<string, number | null>)[metric] = toNumber(r[metric]);
        }
        return row;
      });
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
 * Compares the analytic's report with the hand-written query's rows on every TCA metric, in total
 * and per broker and venue group (including the venue roll-up's null-key group of order-level
 * quantities). A group present on only one side is a mismatch; nulls on both sides are equal.
 */
export function compareWithHandWritten(report: TcaReport, rows: HandWrittenTcaRow[], tolerance = 1e-9): AgreementCheck {
  const check = new Checker(tolerance);
  const analytic = new Map<string, TcaMetrics>([[groupId('total', null), report.total]]);
  for (const dimension of ['broker', 'venue'] as const) {
    for (const group of report.by[dimension] ?? []) analytic.set(groupId(dimension, group.key), group);
  }
  const hand = new Map(rows.map((r) => [groupId(r.dimension, r.key), r] as const));
  for (const id of new Set([...analytic.keys(), ...hand.keys()])) {
    const a = analytic.get(id);
    const b = hand.get(id);
    if (!a || !b) {
      check.result.mismatches.push(`${id}: only in the ${a ? 'analytic' : 'hand-written query'}`);
      continue;
    }
    for (const metric of [...TCA_METRICS, ...horizonMetricKeys(report.markout_horizons_seconds)]) check.compare(`${id} ${metric}`, a[metric], b[metric]);
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
