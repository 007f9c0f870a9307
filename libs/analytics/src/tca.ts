import { type Db, errorMessage, sqlString, withDuckDb } from './duckdb.js';
import { AnalyticsEngineError, IncompatiblePartialsError, InvalidAnalyticsOptionsError } from './errors.js';
import { type TableName } from './schemas.js';
import { tableSource, type TableFiles } from './source.js';
import { assertValidFiles } from './validate.js';

/** Dimensions TCA can be rolled up by. */
export type TcaDimension = 'broker' | 'venue' | 'algo' | 'desk' | 'symbol' | 'trader';
export const TCA_DIMENSIONS: readonly TcaDimension[] = ['broker', 'venue', 'algo', 'desk', 'symbol', 'trader'];

export interface TcaInput {
  /** Paths (CSV or Parquet) of one partition's tables; a table may be split over several files. */
  orders: TableFiles;
  fills: TableFiles;
  quotes: TableFiles;
  /** Market prints; without them VWAP slippage and participation are null and the close falls back to the last mid. */
  trades?: TableFiles;
  /** Roll-up dimensions, each rolled up separately (default: broker, venue). */
  by?: TcaDimension[];
  /** Markout horizon for realized spread and price impact, seconds (default 60). */
  markoutSeconds?: number;
  /** Also return one row of sums per order in the partial (default false: can be large). */
  includeOrders?: boolean;
  /** Write per-fill TCA lines to this path (CSV, or Parquet by extension). */
  fillsOut?: string;
  /** Write per-order TCA metrics to this path (CSV, or Parquet by extension). */
  ordersOut?: string;
  /** DuckDB threads (default: all cores). */
  threads?: number;
}

/**
 * Additive sums of one group. Every ratio in the report is `1e4 * cost / base` (bps) or a plain
 * quotient of two of these sums, so adding the sums of disjoint partitions and then dividing gives
 * exactly the result of one run over all of them.
 */
export interface TcaSums {
  orders: number;
  filled_orders: number;
  fills: number;
  order_qty: number;
  executed_qty: number;
  /** Σ last_qty × last_px. */
  notional: number;
  /** Σ s·q·(p − arrival) and Σ q·arrival. */
  arrival_cost: number;
  arrival_base: number;
  interval_vwap_cost: number;
  interval_vwap_base: number;
  day_vwap_cost: number;
  day_vwap_base: number;
  twap_cost: number;
  twap_base: number;
  commission: number;
  fees: number;
  /** Implementation shortfall (Perold): paper notional Σ order_qty × decision price and its components. */
  is_paper_notional: number;
  is_delay: number;
  is_execution: number;
  is_opportunity: number;
  /** Spread measures at the fill's prevailing quote (mid m) and the markout mid. */
  effective_spread_cost: number;
  realized_spread_cost: number;
  price_impact_cost: number;
  spread_base: number;
  spread_capture_num: number;
  spread_capture_den: number;
  /** Market volume over the orders' working intervals and the executed quantity of those orders. */
  interval_market_volume: number;
  participation_qty: number;
}

export const TCA_SUM_KEYS: readonly (keyof TcaSums)[] = [
  'orders', 'filled_orders', 'fills', 'order_qty', 'executed_qty', 'notional', 'arrival_cost', 'arrival_base',
  'interval_vwap_cost', 'interval_vwap_base', 'day_vwap_cost', 'day_vwap_base', 'twap_cost', 'twap_base', 'commission', 'fees',
  'is_paper_notional', 'is_delay', 'is_execution', 'is_opportunity', 'effective_spread_cost', 'realized_spread_cost',
  'price_impact_cost', 'spread_base', 'spread_capture_num', 'spread_capture_den', 'interval_market_volume', 'participation_qty',
];

export interface TcaGroupSums {
  dimension: 'total' | TcaDimension;
  /** Value of the dimension; null for `total`, and for order-level quantities not attributable to a venue. */
  key: string | null;
  sums: TcaSums;
}

export interface TcaOrderSums {
  order_id: string;
  desk: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  broker: string;
  algo: string;
  trader: string;
  sums: TcaSums;
}

/** JSON-serialisable result of one partition; merge several with `mergeTcaPartials`. */
export interface TcaPartial {
  kind: 'tca-partial';
  version: 1;
  markout_seconds: number;
  dimensions: TcaDimension[];
  groups: TcaGroupSums[];
  orders?: TcaOrderSums[];
}

/** Ratios of one group. bps are positive when they are a cost to us; null when the base is zero. */
export interface TcaMetrics extends Pick<TcaSums, 'orders' | 'filled_orders' | 'fills' | 'order_qty' | 'executed_qty' | 'notional'> {
  fill_rate: number | null;
  arrival_slippage_bps: number | null;
  interval_vwap_slippage_bps: number | null;
  day_vwap_slippage_bps: number | null;
  twap_slippage_bps: number | null;
  commission_bps: number | null;
  fees_bps: number | null;
  implementation_shortfall: number;
  implementation_shortfall_bps: number | null;
  is_delay_bps: number | null;
  is_execution_bps: number | null;
  is_opportunity_bps: number | null;
  is_fees_bps: number | null;
  effective_spread_bps: number | null;
  realized_spread_bps: number | null;
  price_impact_bps: number | null;
  spread_capture: number | null;
  participation_rate: number | null;
}

export interface TcaGroupReport extends TcaMetrics {
  key: string | null;
}

export interface TcaOrderReport extends TcaMetrics {
  order_id: string;
  desk: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  broker: string;
  algo: string;
  trader: string;
}

export interface TcaReport {
  markout_seconds: number;
  total: TcaMetrics;
  by: Partial<Record<TcaDimension, TcaGroupReport[]>>;
  orders?: TcaOrderReport[];
}

/**
 * TCA over one partition: every effective fill (busts removed, corrections applied) becomes a line
 * with its costs against each benchmark; every order adds one line carrying its order-level
 * quantities (order size, unfilled opportunity cost, market volume over its interval). Lines are
 * summed per group with GROUPING SETS; see docs/analytics.md for each formula.
 */
export async function runTca(input: TcaInput): Promise<TcaPartial> {
  const dimensions = normaliseDimensions(input.by ?? ['broker', 'venue']);
  const markout = input.markoutSeconds ?? 60;
  if (!Number.isFinite(markout) || markout < 0) throw new InvalidAnalyticsOptionsError(`markoutSeconds must be >= 0, got ${markout}`);
  const files: Array<{ table: TableName; path: TableFiles }> = [
    { table: 'orders', path: input.orders },
    { table: 'fills', path: input.fills },
    { table: 'quotes', path: input.quotes },
    ...(input.trades ? [{ table: 'trades' as const, path: input.trades }] : []),
  ];
  return withInputs(files, (db) => tcaQuery(db, input, dimensions, markout), input.threads);
}

/**
 * Runs `fn` and turns a DuckDB failure caused by bad input into an `InputDataError` naming file,
 * line and column (found by validating the inputs after the fact, so the happy path pays nothing).
 */
export async function withInputs<T>(files: Array<{ table: TableName; path: TableFiles }>, fn: (db: Db) => Promise<T>, threads?: number): Promise<T> {
  try {
    return await withDuckDb(fn, threads !== undefined ? { threads } : {});
  } catch (cause) {
    if (isOurError(cause)) throw cause;
    await assertValidFiles(files);
    throw new AnalyticsEngineError(`query failed: ${errorMessage(cause)}`, { cause });
  }
}

/** Errors of this library (they carry `retryable`) pass through unchanged. */
function isOurError(error: unknown): boolean {
  return error instanceof Error && 'retryable' in error;
}

function normaliseDimensions(by: string[]): TcaDimension[] {
  const out: TcaDimension[] = [];
  for (const d of by) {
    if (!TCA_DIMENSIONS.includes(d as TcaDimension)) throw new InvalidAnalyticsOptionsError(`unknown TCA dimension "${d}" (expected one of ${TCA_DIMENSIONS.join(', ')})`);
    if (!out.includes(d as TcaDimension)) out.push(d as TcaDimension);
  }
  return out;
}

/** SQL for each sum over `lines`, in TCA_SUM_KEYS order. fsum is compensated: accurate, though its last bits still depend on the order partial sums are combined in (see groupSums). */
const SUMS_SQL = TCA_SUM_KEYS.map((k) => `fsum(${k})::DOUBLE AS ${k}`).join(', ');

async function tcaQuery(db: Db, input: TcaInput, dimensions: TcaDimension[], markout: number): Promise<TcaPartial> {
  // Per-order sums (includeOrders, ordersOut) add an order's fill lines and its order line in one
  // aggregate, which is reproducible only when a table scan feeds it (see groupSums); otherwise
  // `lines` stays a view and is never written out.
  const perOrder = input.includeOrders === true || input.ordersOut !== undefined;
  await buildTcaLines(db, input, markout, perOrder ? 'table' : 'view');
  // Fill lines and order lines are disjoint, so their sums add up like those of two partitions.
  const groups = mergeGroups([await groupSums(db, 'fills = 1', dimensions), await groupSums(db, 'orders = 1', dimensions)], dimensions);
  const partial: TcaPartial = { kind: 'tca-partial', version: 1, markout_seconds: markout, dimensions, groups };
  if (input.includeOrders) {
    const orderRows = await db.all(
      `SELECT order_id, any_value(desk) AS desk, any_value(symbol) AS symbol, any_value(side) AS side, any_value(broker) AS broker,
              any_value(algo) AS algo, any_value(trader) AS trader, ${SUMS_SQL}
       FROM lines GROUP BY order_id ORDER BY order_id`,
    );
    partial.orders = orderRows.map((r) => ({
      order_id: r['order_id'] as string, desk: r['desk'] as string, symbol: r['symbol'] as string, side: r['side'] as 'BUY' | 'SELL',
      broker: r['broker'] as string, algo: r['algo'] as string, trader: r['trader'] as string, sums: pickSums(r),
    }));
  }
  if (input.ordersOut) {
    await db.exec(`COPY (
      SELECT order_id, any_value(desk) AS desk, any_value(symbol) AS symbol, any_value(side) AS side, any_value(broker) AS broker,
             any_value(algo) AS algo, any_value(trader) AS trader, ${ratioSql()}
      FROM lines GROUP BY order_id ORDER BY order_id) TO ${sqlString(input.ordersOut)} (${copyFormat(input.ordersOut)})`);
  }
  if (input.fillsOut) {
    await db.exec(`COPY (
      SELECT order_id, fill_id, ts, venue, broker, algo, symbol, side, qty, px, mid, mid_markout,
             1e4 * arrival_cost / nullif(arrival_base, 0) AS arrival_slippage_bps,
             1e4 * interval_vwap_cost / nullif(interval_vwap_base, 0) AS interval_vwap_slippage_bps,
             1e4 * day_vwap_cost / nullif(day_vwap_base, 0) AS day_vwap_slippage_bps,
             1e4 * twap_cost / nullif(twap_base, 0) AS twap_slippage_bps,
             1e4 * effective_spread_cost / nullif(spread_base, 0) AS effective_spread_bps,
             1e4 * realized_spread_cost / nullif(spread_base, 0) AS realized_spread_bps,
             1e4 * price_impact_cost / nullif(spread_base, 0) AS price_impact_bps,
             1e4 * commission / nullif(notional, 0) AS commission_bps
      FROM lines WHERE fills = 1 ORDER BY order_id, ts, fill_id) TO ${sqlString(input.fillsOut)} (${copyFormat(input.fillsOut)})`);
  }
  return partial;
}

/**
 * Sums of the lines matching `where`, per grouping set. Called once per half of `lines` (which
 * DuckDB then reads alone: the filter prunes the other branch of its UNION ALL): one aggregate fed by
 * both branches at once combines per-thread partial sums in whichever order the threads finish,
 * and the last bits of the report would then change from one run to the next.
 */
async function groupSums(db: Db, where: string, dimensions: TcaDimension[]): Promise<TcaGroupSums[]> {
  const sets = ['()', ...dimensions.map((d) => `(${d})`)].join(', ');
  const dimCols = dimensions.length > 0 ? `, ${dimensions.join(', ')}` : '';
  const groupingFlags = dimensions.map((d) => `grouping(${d}) AS g_${d}`).join(', ');
  const rows = await db.all(
    `SELECT ${SUMS_SQL}${dimCols}${groupingFlags ? `, ${groupingFlags}` : ''} FROM lines WHERE ${where} GROUP BY GROUPING SETS (${sets})`,
  );
  return rows.map((row) => {
    const dimension = dimensions.find((d) => row[`g_${d}`] === 0) ?? 'total';
    return { dimension, key: dimension === 'total' ? null : ((row[dimension] as string | null) ?? null), sums: pickSums(row) };
  });
}

/** Adds the sums of each (dimension, key) over `lists`, in list order; groups sorted for the partial. */
function mergeGroups(lists: TcaGroupSums[][], dimensions: TcaDimension[]): TcaGroupSums[] {
  const merged = new Map<string, TcaGroupSums>();
  for (const list of lists) {
    for (const g of list) {
      const id = JSON.stringify([g.dimension, g.key]);
      let target = merged.get(id);
      if (!target) merged.set(id, (target = { dimension: g.dimension, key: g.key, sums: emptySums() }));
      addSums(target.sums, g.sums);
    }
  }
  return [...merged.values()].sort((a, b) => groupOrder(a, b, dimensions));
}

function copyFormat(path: string): string {
  return /\.parquet$/i.test(path) ? 'FORMAT parquet' : 'FORMAT csv, HEADER true';
}

/** Per-order ratios in SQL (same definitions as `tcaMetrics`). */
function ratioSql(): string {
  const r = (num: string, den: string, scale = '1e4'): string => `${scale} * fsum(${num}) / nullif(fsum(${den}), 0)`;
  return [
    `fsum(order_qty) AS order_qty`, `fsum(executed_qty) AS executed_qty`, `fsum(notional) AS notional`, `fsum(fills)::BIGINT AS fills`,
    `fsum(notional) / nullif(fsum(executed_qty), 0) AS avg_px`,
    `${r('executed_qty', 'order_qty', '1')} AS fill_rate`,
    `${r('arrival_cost', 'arrival_base')} AS arrival_slippage_bps`,
    `${r('interval_vwap_cost', 'interval_vwap_base')} AS interval_vwap_slippage_bps`,
    `${r('day_vwap_cost', 'day_vwap_base')} AS day_vwap_slippage_bps`,
    `${r('twap_cost', 'twap_base')} AS twap_slippage_bps`,
    `${r('commission', 'notional')} AS commission_bps`,
    `${r('fees', 'notional')} AS fees_bps`,
    `fsum(is_delay + is_execution + is_opportunity + commission + fees) AS implementation_shortfall`,
    `${r('is_delay + is_execution + is_opportunity + commission + fees', 'is_paper_notional')} AS implementation_shortfall_bps`,
    `${r('is_delay', 'is_paper_notional')} AS is_delay_bps`,
    `${r('is_execution', 'is_paper_notional')} AS is_execution_bps`,
    `${r('is_opportunity', 'is_paper_notional')} AS is_opportunity_bps`,
    `${r('commission + fees', 'is_paper_notional')} AS is_fees_bps`,
    `${r('effective_spread_cost', 'spread_base')} AS effective_spread_bps`,
    `${r('realized_spread_cost', 'spread_base')} AS realized_spread_bps`,
    `${r('price_impact_cost', 'spread_base')} AS price_impact_bps`,
    `${r('spread_capture_num', 'spread_capture_den', '1')} AS spread_capture`,
    `${r('participation_qty', 'interval_market_volume', '1')} AS participation_rate`,
  ].join(', ');
}

/**
 * Builds `lines` (a table or a view, as asked): one row per effective fill plus one per order, with
 * every additive TCA quantity as a column (zero where it does not apply).
 *
 * Cost is dominated by sorting the market data, so every quote look-up (arrival mid, TWAP ends,
 * fill-time quote, markout quote) goes through ONE as-of join, and every tape look-up (interval
 * VWAP ends) through another. Only what several statements read, or what would be expensive to
 * recompute, is a table: a relation read once is a view, which DuckDB streams into its reader
 * instead of writing it out (writing the per-fill relations out took 10-20% of the run).
 */
export async function buildTcaLines(
  db: Db,
  input: Pick<TcaInput, 'orders' | 'fills' | 'quotes' | 'trades'>,
  markout: number,
  lines: 'table' | 'view',
): Promise<void> {
  const orders = await tableSource(db, 'orders', input.orders);
  const fills = await tableSource(db, 'fills', input.fills);
  const quotes = await tableSource(db, 'quotes', input.quotes);
  const trades = input.trades ? await tableSource(db, 'trades', input.trades) : null;
  const markoutMicros = Math.round(markout * 1e6);
  await db.exec(`
    CREATE TEMP TABLE o AS SELECT *, CASE WHEN side = 'BUY' THEN 1.0 ELSE -1.0 END AS sign FROM ${orders};
    CREATE TEMP TABLE f_all AS SELECT * FROM ${fills} WHERE order_id IN (SELECT order_id FROM o);
    -- Busts remove the fill they reference; a correction replaces it (and may itself be busted or corrected).
    -- A plain anti join: NOT EXISTS became a delim join that first deduplicated every fill_id. Only the
    -- columns later statements read are kept, since writing this table is a large part of its cost.
    CREATE TEMP TABLE f AS
      SELECT f.fill_id, f.order_id, f.ts, f.venue, f.last_qty, f.last_px, f.commission, f.fees, o.symbol FROM f_all f
      ANTI JOIN (SELECT ref_fill_id FROM f_all WHERE exec_type IN ('BUST', 'CORRECT')) r ON r.ref_fill_id = f.fill_id
      JOIN o USING (order_id)
      WHERE f.exec_type <> 'BUST';
  `);
  // Far-future look-ups per symbol return the day's last quote and the whole tape (close, day VWAP).
  await db.exec(`
    CREATE TEMP VIEW qpoints AS
      SELECT symbol, arrival_ts AS ts, order_id AS ref, 'arr' AS role FROM o
      UNION ALL SELECT symbol, end_ts, order_id, 'end' FROM o
      UNION ALL SELECT symbol, ts, fill_id, 'fill' FROM f
      UNION ALL SELECT symbol, ts + to_microseconds(${markoutMicros}::BIGINT), fill_id, 'markout' FROM f
      UNION ALL SELECT DISTINCT symbol, TIMESTAMP '9999-12-31', symbol, 'close' FROM o;
    -- qi: quotes with the time-integral of the mid up to each quote, I(t_k) = sum_{j<k} mid_j (t_{j+1} - t_j)
    -- in seconds, so TWAP over [a, e] = (I(e) - I(a)) / (e - a) with I interpolated from the prevailing quote.
    CREATE TEMP TABLE qlook AS
      WITH qs AS (
        SELECT symbol, ts, bid, ask, (bid + ask) / 2 AS mid FROM ${quotes} WHERE symbol IN (SELECT DISTINCT symbol FROM o)
      ), seg AS (
        SELECT *, mid * coalesce(epoch_us(lead(ts) OVER (PARTITION BY symbol ORDER BY ts)) - epoch_us(ts), 0) / 1e6 AS seg FROM qs
      ), qi AS (
        SELECT symbol, ts, bid, ask, mid, sum(seg) OVER (PARTITION BY symbol ORDER BY ts ROWS UNBOUNDED PRECEDING) - seg AS integral FROM seg
      )
      SELECT p.ref, p.role, q.ts AS quote_ts, q.bid, q.ask, q.mid,
             q.integral + q.mid * (epoch_us(p.ts) - epoch_us(q.ts)) / 1e6 AS integral
      FROM qpoints p ASOF LEFT JOIN qi q ON q.symbol = p.symbol AND q.ts <= p.ts;
  `);
  if (trades) {
    await db.exec(`
      -- Prints sharing a timestamp are aggregated first, so an as-of match sees all of them. The interval
      -- starts strictly after the arrival instant: "< arrival" is "<= arrival - 1us" at timestamp
      -- resolution, so both ends of every order share one as-of join.
      CREATE TEMP TABLE tlook AS
      WITH g AS (
        SELECT symbol, ts, sum(qty) AS v, sum(qty * price) AS pv FROM ${trades} WHERE symbol IN (SELECT DISTINCT symbol FROM o) GROUP BY symbol, ts
      ), tape AS (
        SELECT symbol, ts, v, pv, sum(v) OVER w AS cum_v, sum(pv) OVER w AS cum_pv FROM g
        WINDOW w AS (PARTITION BY symbol ORDER BY ts ROWS UNBOUNDED PRECEDING)
      ), pts AS (
        SELECT symbol, arrival_ts - INTERVAL 1 MICROSECOND AS ts, order_id AS ref, 'start' AS role FROM o
        UNION ALL SELECT symbol, end_ts, order_id, 'end' FROM o
        UNION ALL SELECT DISTINCT symbol, TIMESTAMP '9999-12-31', symbol, 'close' FROM o
      )
      SELECT p.ref, p.role, coalesce(t.cum_v, 0) AS cum_v, coalesce(t.cum_pv, 0) AS cum_pv, t.pv / t.v AS last_px
      FROM pts p ASOF LEFT JOIN tape t ON t.symbol = p.symbol AND t.ts <= p.ts;
      CREATE TEMP TABLE day AS
        SELECT ref AS symbol, cum_pv / nullif(cum_v, 0) AS day_vwap, last_px AS close_px FROM tlook WHERE role = 'close';
    `);
  } else {
    await db.exec(`
      CREATE TEMP TABLE day AS SELECT ref AS symbol, NULL::DOUBLE AS day_vwap, mid AS close_px FROM qlook WHERE role = 'close';
      CREATE TEMP TABLE tlook (ref VARCHAR, role VARCHAR, cum_v DOUBLE, cum_pv DOUBLE, last_px DOUBLE);
    `);
  }
  await db.exec(`
    -- Order-level benchmarks: arrival (OMS value, else the prevailing mid), interval VWAP from the
    -- cumulative tape at both ends, TWAP of the mid from its time-integral at both ends.
    CREATE TEMP TABLE ob AS
    SELECT o.*, coalesce(o.arrival_px, qa.mid) AS arrival,
           coalesce(te.cum_v, 0) - coalesce(ts0.cum_v, 0) AS iv_v,
           CASE WHEN coalesce(te.cum_v, 0) - coalesce(ts0.cum_v, 0) > 0
                THEN (te.cum_pv - coalesce(ts0.cum_pv, 0)) / (te.cum_v - coalesce(ts0.cum_v, 0)) END AS ivwap,
           CASE WHEN o.end_ts > o.arrival_ts AND qa.quote_ts IS NOT NULL
                THEN (qe.integral - qa.integral) / ((epoch_us(o.end_ts) - epoch_us(o.arrival_ts)) / 1e6)
                ELSE qa.mid END AS twap,
           d.day_vwap, d.close_px
    FROM o
    LEFT JOIN qlook qa ON qa.ref = o.order_id AND qa.role = 'arr'
    LEFT JOIN qlook qe ON qe.ref = o.order_id AND qe.role = 'end'
    LEFT JOIN tlook ts0 ON ts0.ref = o.order_id AND ts0.role = 'start'
    LEFT JOIN tlook te ON te.ref = o.order_id AND te.role = 'end'
    LEFT JOIN day d ON d.symbol = o.symbol;

    -- Fill-level benchmarks: the quote prevailing at the fill and at fill + markout horizon.
    CREATE TEMP VIEW fl AS
    SELECT f.fill_id, f.order_id, f.ts, f.venue, f.last_qty AS qty, f.last_px AS px, f.commission, f.fees,
           q0.bid, q0.ask, q0.mid, q1.mid AS mid_markout
    FROM f
    LEFT JOIN qlook q0 ON q0.ref = f.fill_id AND q0.role = 'fill'
    LEFT JOIN qlook q1 ON q1.ref = f.fill_id AND q1.role = 'markout';

    -- From f, not fl: the executed quantity needs no quote look-up.
    CREATE TEMP TABLE ofill AS SELECT order_id, sum(last_qty) AS exec_qty FROM f GROUP BY order_id;

    CREATE TEMP ${lines === 'table' ? 'TABLE' : 'VIEW'} lines AS
    SELECT ob.order_id, fl.fill_id, fl.ts, ob.desk, ob.symbol, ob.side, ob.broker, ob.algo, ob.trader, fl.venue,
           fl.qty, fl.px, fl.mid, fl.mid_markout,
           0.0 AS orders, 0.0 AS filled_orders, 1.0 AS fills, 0.0 AS order_qty, fl.qty AS executed_qty, fl.qty * fl.px AS notional,
           coalesce(ob.sign * fl.qty * (fl.px - ob.arrival), 0) AS arrival_cost, coalesce(fl.qty * ob.arrival, 0) AS arrival_base,
           coalesce(ob.sign * fl.qty * (fl.px - ob.ivwap), 0) AS interval_vwap_cost, coalesce(fl.qty * ob.ivwap, 0) AS interval_vwap_base,
           coalesce(ob.sign * fl.qty * (fl.px - ob.day_vwap), 0) AS day_vwap_cost, coalesce(fl.qty * ob.day_vwap, 0) AS day_vwap_base,
           coalesce(ob.sign * fl.qty * (fl.px - ob.twap), 0) AS twap_cost, coalesce(fl.qty * ob.twap, 0) AS twap_base,
           fl.commission, fl.fees,
           fl.qty * ob.decision_px AS is_paper_notional,
           coalesce(ob.sign * fl.qty * (ob.arrival - ob.decision_px), 0) AS is_delay,
           coalesce(ob.sign * fl.qty * (fl.px - ob.arrival), 0) AS is_execution,
           0.0 AS is_opportunity,
           coalesce(2 * ob.sign * fl.qty * (fl.px - fl.mid), 0) AS effective_spread_cost,
           coalesce(2 * ob.sign * fl.qty * (fl.px - fl.mid_markout), 0) AS realized_spread_cost,
           coalesce(2 * ob.sign * fl.qty * (fl.mid_markout - fl.mid), 0) AS price_impact_cost,
           coalesce(fl.qty * fl.mid, 0) AS spread_base,
           CASE WHEN fl.ask > fl.bid THEN fl.qty * ob.sign * ((CASE WHEN ob.sign > 0 THEN fl.ask ELSE fl.bid END) - fl.px) ELSE 0 END AS spread_capture_num,
           CASE WHEN fl.ask > fl.bid THEN fl.qty * (fl.ask - fl.bid) ELSE 0 END AS spread_capture_den,
           0.0 AS interval_market_volume, 0.0 AS participation_qty
    FROM fl JOIN ob USING (order_id)
    UNION ALL
    SELECT ob.order_id, NULL, NULL, ob.desk, ob.symbol, ob.side, ob.broker, ob.algo, ob.trader, NULL,
           greatest(ob.order_qty - coalesce(e.exec_qty, 0), 0), NULL, NULL, NULL,
           1.0, CASE WHEN coalesce(e.exec_qty, 0) >= ob.order_qty THEN 1.0 ELSE 0.0 END, 0.0, ob.order_qty, 0.0, 0.0,
           0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
           greatest(ob.order_qty - coalesce(e.exec_qty, 0), 0) * ob.decision_px,
           0.0, 0.0,
           coalesce(ob.sign * greatest(ob.order_qty - coalesce(e.exec_qty, 0), 0) * (ob.close_px - ob.decision_px), 0),
           0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
           CASE WHEN ob.iv_v > 0 THEN ob.iv_v ELSE 0 END,
           CASE WHEN ob.iv_v > 0 THEN coalesce(e.exec_qty, 0) ELSE 0 END
    FROM ob LEFT JOIN ofill e USING (order_id);
  `);
}

function pickSums(row: Record<string, unknown>): TcaSums {
  const sums = {} as TcaSums;
  for (const k of TCA_SUM_KEYS) sums[k] = Number(row[k] ?? 0);
  return sums;
}

function groupOrder(a: TcaGroupSums, b: TcaGroupSums, dims: TcaDimension[]): number {
  const rank = (g: TcaGroupSums): number => (g.dimension === 'total' ? -1 : dims.indexOf(g.dimension));
  return rank(a) - rank(b) || compareKeys(a.key, b.key);
}

function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function emptySums(): TcaSums {
  const sums = {} as TcaSums;
  for (const k of TCA_SUM_KEYS) sums[k] = 0;
  return sums;
}

function addSums(into: TcaSums, from: TcaSums): void {
  for (const k of TCA_SUM_KEYS) into[k] += from[k];
}

/** Ratios from sums; see docs/analytics.md. */
export function tcaMetrics(s: TcaSums): TcaMetrics {
  const bps = (cost: number, base: number): number | null => (base !== 0 ? (1e4 * cost) / base : null);
  const ratio = (num: number, den: number): number | null => (den !== 0 ? num / den : null);
  const shortfall = s.is_delay + s.is_execution + s.is_opportunity + s.commission + s.fees;
  return {
    orders: s.orders,
    filled_orders: s.filled_orders,
    fills: s.fills,
    order_qty: s.order_qty,
    executed_qty: s.executed_qty,
    notional: s.notional,
    fill_rate: ratio(s.executed_qty, s.order_qty),
    arrival_slippage_bps: bps(s.arrival_cost, s.arrival_base),
    interval_vwap_slippage_bps: bps(s.interval_vwap_cost, s.interval_vwap_base),
    day_vwap_slippage_bps: bps(s.day_vwap_cost, s.day_vwap_base),
    twap_slippage_bps: bps(s.twap_cost, s.twap_base),
    commission_bps: bps(s.commission, s.notional),
    fees_bps: bps(s.fees, s.notional),
    implementation_shortfall: shortfall,
    implementation_shortfall_bps: bps(shortfall, s.is_paper_notional),
    is_delay_bps: bps(s.is_delay, s.is_paper_notional),
    is_execution_bps: bps(s.is_execution, s.is_paper_notional),
    is_opportunity_bps: bps(s.is_opportunity, s.is_paper_notional),
    is_fees_bps: bps(s.commission + s.fees, s.is_paper_notional),
    effective_spread_bps: bps(s.effective_spread_cost, s.spread_base),
    realized_spread_bps: bps(s.realized_spread_cost, s.spread_base),
    price_impact_bps: bps(s.price_impact_cost, s.spread_base),
    spread_capture: ratio(s.spread_capture_num, s.spread_capture_den),
    participation_rate: ratio(s.participation_qty, s.interval_market_volume),
  };
}

/**
 * Merges partials of disjoint partitions: sums are added per (dimension, key), then turned into
 * ratios once, so the result equals one run over all partitions (up to float rounding of the sums).
 */
export function mergeTcaPartials(parts: TcaPartial[]): TcaReport {
  if (parts.length === 0) throw new IncompatiblePartialsError('no TCA partials to merge');
  const first = parts[0];
  for (const p of parts) {
    if (p.kind !== 'tca-partial' || p.version !== 1) throw new IncompatiblePartialsError(`not a version 1 TCA partial: ${String(p.kind)} v${String(p.version)}`);
    if (p.markout_seconds !== first.markout_seconds) throw new IncompatiblePartialsError(`markout horizons differ: ${first.markout_seconds}s vs ${p.markout_seconds}s`);
    if (p.dimensions.join(',') !== first.dimensions.join(',')) throw new IncompatiblePartialsError(`dimensions differ: ${first.dimensions.join(',')} vs ${p.dimensions.join(',')}`);
  }
  const groups = mergeGroups(parts.map((p) => p.groups), first.dimensions);
  const total = groups.find((g) => g.dimension === 'total')?.sums ?? emptySums();
  const by: Partial<Record<TcaDimension, TcaGroupReport[]>> = {};
  for (const d of first.dimensions) by[d] = groups.filter((g) => g.dimension === d).map((g) => ({ key: g.key, ...tcaMetrics(g.sums) }));
  const report: TcaReport = { markout_seconds: first.markout_seconds, total: tcaMetrics(total), by };
  if (parts.some((p) => p.orders)) {
    report.orders = parts
      .flatMap((p) => p.orders ?? [])
      .sort((a, b) => compareKeys(a.order_id, b.order_id))
      .map(({ sums, ...keys }) => ({ ...keys, ...tcaMetrics(sums) }));
  }
  return report;
}
