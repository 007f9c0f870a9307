import { type Db, errorMessage, sqlString, withDuckDb } from './duckdb.js';
import { AnalyticsEngineError, IncompatiblePartialsError, InvalidAnalyticsOptionsError } from './errors.js';
import { addExact, exactToNumber, parseExact, type Exact } from './exact-sum.js';
import { type TableName } from './schemas.js';
import { type TableFiles } from './source.js';
import { buildTcaLines, EXACT_DECIMAL, horizonLabel } from './tca-lines.js';
import { assertValidFiles } from './validate.js';

/** Dimensions TCA can be rolled up by. */
export type TcaDimension = 'broker' | 'venue' | 'algo' | 'desk' | 'symbol' | 'trader';
export const TCA_DIMENSIONS: readonly TcaDimension[] = ['broker', 'venue', 'algo', 'desk', 'symbol', 'trader'];

/** Markout horizons (seconds) when none are given: 1, 5 and 30 minutes. */
export const DEFAULT_MARKOUT_HORIZONS: readonly number[] = [60, 300, 1800];

export interface TcaInput {
  /** Paths (CSV or Parquet) of one partition's tables; a table may be split over several files. */
  orders: TableFiles;
  fills: TableFiles;
  quotes: TableFiles;
  /** Market prints; without them VWAP slippage, participation and RPM are null and the close falls back to the last mid. */
  trades?: TableFiles;
  /** Roll-up dimensions, each rolled up separately (default: broker, venue). */
  by?: TcaDimension[];
  /**
   * Markout horizons for realized spread and price impact, seconds, distinct, in the order reported
   * (default 60, 300, 1800). The first is the one `realized_spread_bps` / `price_impact_bps` report.
   */
  markoutHorizonsSeconds?: readonly number[];
  /** One markout horizon, seconds: the same as `markoutHorizonsSeconds: [markoutSeconds]`. */
  markoutSeconds?: number;
  /** Also return one row of sums per order in the partial (default false: can be large). */
  includeOrders?: boolean;
  /** Write per-fill TCA lines to this path (CSV, or Parquet by extension). */
  fillsOut?: string;
  /** Write per-order TCA metrics to this path (CSV, or Parquet by extension). */
  ordersOut?: string;
  /** DuckDB threads (default: all cores). The result does not depend on it. */
  threads?: number;
}

/** Sum keys of one markout horizon: `realized_spread_cost_60s`, `price_impact_cost_60s`. */
export type TcaHorizonSumKey = `realized_spread_cost_${number}s` | `price_impact_cost_${number}s`;

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
  /** Spread measures at the fill's prevailing quote (mid m); realized spread and impact per horizon below. */
  effective_spread_cost: number;
  spread_base: number;
  spread_capture_num: number;
  spread_capture_den: number;
  /** Σ s·q·(far − p) and Σ q·far over fills with a prevailing quote (far = ask for a buy, bid for a sell). */
  price_improvement_num: number;
  price_improvement_base: number;
  /** Fills with a prevailing quote, and of those: inside the far side, at it, outside it. */
  quoted_fills: number;
  improved_fills: number;
  at_quote_fills: number;
  outside_quote_fills: number;
  /** Market volume over the orders' working intervals and the executed quantity of those orders. */
  interval_market_volume: number;
  participation_qty: number;
  /** Kissell's RPM: Σ (volume worse than the order's average price + ½ volume at it) and Σ interval volume. */
  rpm_num: number;
  rpm_den: number;
  /** Realized spread and price impact at each markout horizon. */
  [key: TcaHorizonSumKey]: number;
}

/** The sums every partial has, whatever its horizons. */
export const TCA_SUM_KEYS = [
  'orders', 'filled_orders', 'fills', 'order_qty', 'executed_qty', 'notional', 'arrival_cost', 'arrival_base',
  'interval_vwap_cost', 'interval_vwap_base', 'day_vwap_cost', 'day_vwap_base', 'twap_cost', 'twap_base', 'commission', 'fees',
  'is_paper_notional', 'is_delay', 'is_execution', 'is_opportunity', 'effective_spread_cost', 'spread_base',
  'spread_capture_num', 'spread_capture_den', 'price_improvement_num', 'price_improvement_base', 'quoted_fills', 'improved_fills',
  'at_quote_fills', 'outside_quote_fills', 'interval_market_volume', 'participation_qty', 'rpm_num', 'rpm_den',
] as const satisfies readonly (keyof TcaSums)[];

/** Every sum key of a partial with these horizons: TCA_SUM_KEYS, then realized spread and impact per horizon. */
export function tcaSumKeys(horizons: readonly number[]): Array<keyof TcaSums> {
  return [
    ...TCA_SUM_KEYS,
    ...horizons.flatMap((h) => [`realized_spread_cost_${horizonLabel(h)}`, `price_impact_cost_${horizonLabel(h)}`] as TcaHorizonSumKey[]),
  ];
}

/**
 * A group's sums as exact decimal strings (12 decimal places, DuckDB's DECIMAL(38, 12)): a partial
 * carries them exactly so that merging partitions is exact too (see `mergeTcaPartials`).
 */
export type TcaExactSums = Record<string, string>;

export interface TcaGroupSums {
  dimension: 'total' | TcaDimension;
  /** Value of the dimension; null for `total`, and for order-level quantities not attributable to a venue. */
  key: string | null;
  sums: TcaExactSums;
}

export interface TcaOrderSums {
  order_id: string;
  desk: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  broker: string;
  algo: string;
  trader: string;
  sums: TcaExactSums;
}

/**
 * Where a pipeline published one partition's per-order and per-fill detail (the `ordersOut` and
 * `fillsOut` files): object keys, set by whoever stored them (the worker), not by `runTca`.
 */
export interface TcaDetailRef {
  partition: string;
  orders: string;
  fills: string;
}

/** JSON-serialisable result of one partition; merge several with `mergeTcaPartials`. */
export interface TcaPartial {
  kind: 'tca-partial';
  /** 2: sums are exact decimal strings, several markout horizons, RPM and price improvement. */
  version: 2;
  /** The first markout horizon (the one `realized_spread_bps` and `price_impact_bps` report). */
  markout_seconds: number;
  markout_horizons_seconds: number[];
  dimensions: TcaDimension[];
  groups: TcaGroupSums[];
  orders?: TcaOrderSums[];
  detail?: TcaDetailRef;
}

/** Realized spread and price impact of one horizon, bps: `realized_spread_60s_bps`, `price_impact_60s_bps`. */
export type TcaHorizonMetricKey = `realized_spread_${number}s_bps` | `price_impact_${number}s_bps`;

/**
 * Ratios of one group. bps are positive when they are a cost to us; null when the base is zero.
 * The exceptions, benefits: spread capture, price improvement (positive = better than the far side)
 * and RPM (0…1, above 0.5 = better than the average share traded in the interval).
 */
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
  /** At the first markout horizon (`markout_seconds`); every horizon's under `realized_spread_<h>s_bps`. */
  realized_spread_bps: number | null;
  price_impact_bps: number | null;
  spread_capture: number | null;
  participation_rate: number | null;
  /** Kissell's Relative Performance Measure, market-volume-weighted over orders (a fraction, 0…1). */
  rpm: number | null;
  /** Price improvement vs the far side of the prevailing quote, bps of the far price (positive = improved). */
  price_improvement_bps: number | null;
  /** Shares of fills with a prevailing quote that were inside the far side, at it, outside it (they add up to 1). */
  improved_fill_share: number | null;
  at_quote_fill_share: number | null;
  outside_quote_fill_share: number | null;
  [key: TcaHorizonMetricKey]: number | null;
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
  markout_horizons_seconds: number[];
  total: TcaMetrics;
  by: Partial<Record<TcaDimension, TcaGroupReport[]>>;
  orders?: TcaOrderReport[];
  /** Per-partition detail files, by partition, when the partials carry them. */
  detail?: TcaDetailRef[];
}

/**
 * TCA over one partition: every effective fill (busts removed, corrections applied) becomes a line
 * with its costs against each benchmark; every order adds one line carrying its order-level
 * quantities (order size, unfilled opportunity cost, market volume over its interval, RPM). Lines
 * are summed per group with GROUPING SETS, exactly; see docs/analytics.md for each formula.
 */
export async function runTca(input: TcaInput): Promise<TcaPartial> {
  const dimensions = normaliseDimensions(input.by ?? ['broker', 'venue']);
  const horizons = normaliseHorizons(input);
  const files: Array<{ table: TableName; path: TableFiles }> = [
    { table: 'orders', path: input.orders },
    { table: 'fills', path: input.fills },
    { table: 'quotes', path: input.quotes },
    ...(input.trades ? [{ table: 'trades' as const, path: input.trades }] : []),
  ];
  return withInputs(files, (db) => tcaQuery(db, input, dimensions, horizons), input.threads);
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

function normaliseHorizons(input: Pick<TcaInput, 'markoutHorizonsSeconds' | 'markoutSeconds'>): number[] {
  if (input.markoutHorizonsSeconds !== undefined && input.markoutSeconds !== undefined) {
    throw new InvalidAnalyticsOptionsError('give markoutHorizonsSeconds or markoutSeconds, not both');
  }
  const horizons = input.markoutHorizonsSeconds ?? (input.markoutSeconds !== undefined ? [input.markoutSeconds] : DEFAULT_MARKOUT_HORIZONS);
  if (horizons.length === 0) throw new InvalidAnalyticsOptionsError('markoutHorizonsSeconds must name at least one horizon');
  for (const h of horizons) {
    if (!Number.isFinite(h) || h < 0) throw new InvalidAnalyticsOptionsError(`markout horizons must be >= 0 seconds, got ${h}`);
  }
  if (new Set(horizons).size !== horizons.length) throw new InvalidAnalyticsOptionsError(`markout horizons repeat: ${horizons.join(', ')}`);
  return [...horizons];
}

/**
 * SQL for each sum over `lines`, exact: every line's value is rounded once to DECIMAL(38, 12) and
 * summed as a scaled integer, so the result is the same whatever order DuckDB's threads combine
 * partial sums in (a float sum, even a compensated one, changes in its last bits). Returned as text
 * to keep every digit.
 */
function exactSumsSql(keys: readonly string[]): string {
  return keys.map((k) => `sum(CAST(${k} AS ${EXACT_DECIMAL}))::VARCHAR AS ${k}`).join(', ');
}

async function tcaQuery(db: Db, input: TcaInput, dimensions: TcaDimension[], horizons: number[]): Promise<TcaPartial> {
  const keys = tcaSumKeys(horizons);
  // Per-order outputs read `lines` again: then it is a table, computed once; otherwise a view.
  const perOrder = input.includeOrders === true || input.ordersOut !== undefined || input.fillsOut !== undefined;
  await buildTcaLines(db, input, horizons, perOrder ? 'table' : 'view');
  const groups = await groupSums(db, keys, dimensions);
  const partial: TcaPartial = {
    kind: 'tca-partial', version: 2, markout_seconds: horizons[0]!, markout_horizons_seconds: horizons, dimensions, groups,
  };
  if (input.includeOrders) {
    const orderRows = await db.all(
      `SELECT order_id, any_value(desk) AS desk, any_value(symbol) AS symbol, any_value(side) AS side, any_value(broker) AS broker,
              any_value(algo) AS algo, any_value(trader) AS trader, ${exactSumsSql(keys)}
       FROM lines GROUP BY order_id ORDER BY order_id`,
    );
    partial.orders = orderRows.map((r) => ({
      order_id: r['order_id'] as string, desk: r['desk'] as string, symbol: r['symbol'] as string, side: r['side'] as 'BUY' | 'SELL',
      broker: r['broker'] as string, algo: r['algo'] as string, trader: r['trader'] as string, sums: pickSums(r, keys),
    }));
  }
  if (input.ordersOut) {
    await db.exec(`COPY (
      SELECT order_id, desk, symbol, side, broker, algo, trader, ${orderRatioSql(horizons)}
      FROM (SELECT order_id, any_value(desk) AS desk, any_value(symbol) AS symbol, any_value(side) AS side, any_value(broker) AS broker,
                   any_value(algo) AS algo, any_value(trader) AS trader,
                   ${keys.map((k) => `sum(CAST(${k} AS ${EXACT_DECIMAL}))::DOUBLE AS ${k}`).join(', ')}
            FROM lines GROUP BY order_id)
      ORDER BY order_id) TO ${sqlString(input.ordersOut)} (${copyFormat(input.ordersOut)})`);
  }
  if (input.fillsOut) {
    const horizonCols = horizons
      .map((h) => {
        const l = horizonLabel(h);
        return `mid_${l}, 1e4 * realized_spread_cost_${l} / nullif(spread_base, 0) AS realized_spread_${l}_bps,
             1e4 * price_impact_cost_${l} / nullif(spread_base, 0) AS price_impact_${l}_bps`;
      })
      .join(',\n             ');
    await db.exec(`COPY (
      SELECT order_id, fill_id, ts, venue, broker, algo, symbol, side, qty, px, bid, ask, mid,
             1e4 * arrival_cost / nullif(arrival_base, 0) AS arrival_slippage_bps,
             1e4 * interval_vwap_cost / nullif(interval_vwap_base, 0) AS interval_vwap_slippage_bps,
             1e4 * day_vwap_cost / nullif(day_vwap_base, 0) AS day_vwap_slippage_bps,
             1e4 * twap_cost / nullif(twap_base, 0) AS twap_slippage_bps,
             1e4 * effective_spread_cost / nullif(spread_base, 0) AS effective_spread_bps,
             ${horizonCols},
             1e4 * price_improvement_num / nullif(price_improvement_base, 0) AS price_improvement_bps,
             CASE WHEN improved_fills > 0 THEN 'improved' WHEN at_quote_fills > 0 THEN 'at_quote'
                  WHEN outside_quote_fills > 0 THEN 'outside_quote' END AS vs_quote,
             1e4 * commission / nullif(notional, 0) AS commission_bps
      FROM lines WHERE fills = 1 ORDER BY order_id, ts, fill_id) TO ${sqlString(input.fillsOut)} (${copyFormat(input.fillsOut)})`);
  }
  return partial;
}

/** Exact sums of every line, per grouping set (fill lines and order lines together: the sums do not depend on the order rows arrive in). */
async function groupSums(db: Db, keys: readonly string[], dimensions: TcaDimension[]): Promise<TcaGroupSums[]> {
  const sets = ['()', ...dimensions.map((d) => `(${d})`)].join(', ');
  const dimCols = dimensions.length > 0 ? `, ${dimensions.join(', ')}` : '';
  const groupingFlags = dimensions.map((d) => `grouping(${d}) AS g_${d}`).join(', ');
  const rows = await db.all(
    `SELECT ${exactSumsSql(keys)}${dimCols}${groupingFlags ? `, ${groupingFlags}` : ''} FROM lines GROUP BY GROUPING SETS (${sets})`,
  );
  const groups = rows.map((row): TcaGroupSums => {
    const dimension = dimensions.find((d) => row[`g_${d}`] === 0) ?? 'total';
    return { dimension, key: dimension === 'total' ? null : ((row[dimension] as string | null) ?? null), sums: pickSums(row, keys) };
  });
  return groups.sort((a, b) => groupOrder(a, b, dimensions));
}

function copyFormat(path: string): string {
  return /\.parquet$/i.test(path) ? 'FORMAT parquet' : 'FORMAT csv, HEADER true';
}

/** Per-order ratios in SQL over that order's (exactly summed) sums; the same definitions as `tcaMetrics`. */
function orderRatioSql(horizons: readonly number[]): string {
  const r = (num: string, den: string, scale = '1e4'): string => `${scale} * (${num}) / nullif(${den}, 0)`;
  const [first] = horizons.map(horizonLabel);
  return [
    `order_qty`, `executed_qty`, `notional`, `fills::BIGINT AS fills`,
    `notional / nullif(executed_qty, 0) AS avg_px`,
    `${r('executed_qty', 'order_qty', '1')} AS fill_rate`,
    `${r('arrival_cost', 'arrival_base')} AS arrival_slippage_bps`,
    `${r('interval_vwap_cost', 'interval_vwap_base')} AS interval_vwap_slippage_bps`,
    `${r('day_vwap_cost', 'day_vwap_base')} AS day_vwap_slippage_bps`,
    `${r('twap_cost', 'twap_base')} AS twap_slippage_bps`,
    `${r('commission', 'notional')} AS commission_bps`,
    `${r('fees', 'notional')} AS fees_bps`,
    `is_delay + is_execution + is_opportunity + commission + fees AS implementation_shortfall`,
    `${r('is_delay + is_execution + is_opportunity + commission + fees', 'is_paper_notional')} AS implementation_shortfall_bps`,
    `${r('is_delay', 'is_paper_notional')} AS is_delay_bps`,
    `${r('is_execution', 'is_paper_notional')} AS is_execution_bps`,
    `${r('is_opportunity', 'is_paper_notional')} AS is_opportunity_bps`,
    `${r('commission + fees', 'is_paper_notional')} AS is_fees_bps`,
    `${r('effective_spread_cost', 'spread_base')} AS effective_spread_bps`,
    `${r(`realized_spread_cost_${first}`, 'spread_base')} AS realized_spread_bps`,
    `${r(`price_impact_cost_${first}`, 'spread_base')} AS price_impact_bps`,
    ...horizons.map(horizonLabel).flatMap((l) => [
      `${r(`realized_spread_cost_${l}`, 'spread_base')} AS realized_spread_${l}_bps`,
      `${r(`price_impact_cost_${l}`, 'spread_base')} AS price_impact_${l}_bps`,
    ]),
    `${r('spread_capture_num', 'spread_capture_den', '1')} AS spread_capture`,
    `${r('participation_qty', 'interval_market_volume', '1')} AS participation_rate`,
    `${r('rpm_num', 'rpm_den', '1')} AS rpm`,
    `${r('price_improvement_num', 'price_improvement_base')} AS price_improvement_bps`,
    `${r('improved_fills', 'quoted_fills', '1')} AS improved_fill_share`,
    `${r('at_quote_fills', 'quoted_fills', '1')} AS at_quote_fill_share`,
    `${r('outside_quote_fills', 'quoted_fills', '1')} AS outside_quote_fill_share`,
  ].join(', ');
}

function pickSums(row: Record<string, unknown>, keys: readonly string[]): TcaExactSums {
  const sums: TcaExactSums = {};
  for (const k of keys) sums[k] = (row[k] as string | null) ?? '0';
  return sums;
}

type GroupId = Pick<TcaGroupSums, 'dimension' | 'key'>;

function groupOrder(a: GroupId, b: GroupId, dims: TcaDimension[]): number {
  const rank = (g: GroupId): number => (g.dimension === 'total' ? -1 : dims.indexOf(g.dimension));
  return rank(a) - rank(b) || compareKeys(a.key, b.key);
}

function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** Ratios from sums; see docs/analytics.md. `horizons`: the markout horizons the sums have (the first is the headline one). */
export function tcaMetrics(s: TcaSums, horizons: readonly number[]): TcaMetrics {
  const bps = (cost: number, base: number): number | null => (base !== 0 ? (1e4 * cost) / base : null);
  const ratio = (num: number, den: number): number | null => (den !== 0 ? num / den : null);
  const shortfall = s.is_delay + s.is_execution + s.is_opportunity + s.commission + s.fees;
  const first = horizonLabel(horizons[0]!);
  const metrics: TcaMetrics = {
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
    realized_spread_bps: bps(s[`realized_spread_cost_${first}`] ?? 0, s.spread_base),
    price_impact_bps: bps(s[`price_impact_cost_${first}`] ?? 0, s.spread_base),
    spread_capture: ratio(s.spread_capture_num, s.spread_capture_den),
    participation_rate: ratio(s.participation_qty, s.interval_market_volume),
    rpm: ratio(s.rpm_num, s.rpm_den),
    price_improvement_bps: bps(s.price_improvement_num, s.price_improvement_base),
    improved_fill_share: ratio(s.improved_fills, s.quoted_fills),
    at_quote_fill_share: ratio(s.at_quote_fills, s.quoted_fills),
    outside_quote_fill_share: ratio(s.outside_quote_fills, s.quoted_fills),
  };
  for (const h of horizons) {
    const l = horizonLabel(h);
    metrics[`realized_spread_${l}_bps`] = bps(s[`realized_spread_cost_${l}`] ?? 0, s.spread_base);
    metrics[`price_impact_${l}_bps`] = bps(s[`price_impact_cost_${l}`] ?? 0, s.spread_base);
  }
  return metrics;
}

/** Exact sums added per key, then turned into numbers once (each the double nearest the exact sum). */
function toNumbers(list: readonly TcaExactSums[], keys: readonly (keyof TcaSums)[]): TcaSums {
  const out = {} as TcaSums;
  for (const k of keys) {
    let total: Exact = parseExact('0');
    for (const sums of list) total = addExact(total, parseExact(sums[k] ?? '0', k));
    out[k] = exactToNumber(total);
  }
  return out;
}

/**
 * Merges partials of disjoint partitions: sums are added exactly (they are decimal strings) per
 * (dimension, key), then turned into ratios once. The result is therefore identical, to the last
 * bit, to one run over all partitions, and does not depend on the order the partials come in.
 */
export function mergeTcaPartials(parts: TcaPartial[]): TcaReport {
  if (parts.length === 0) throw new IncompatiblePartialsError('no TCA partials to merge');
  const first = parts[0]!;
  for (const p of parts) {
    if (p.kind !== 'tca-partial' || p.version !== 2) throw new IncompatiblePartialsError(`not a version 2 TCA partial: ${String(p.kind)} v${String(p.version)}`);
    if (p.markout_horizons_seconds.join(',') !== first.markout_horizons_seconds.join(',')) {
      throw new IncompatiblePartialsError(`markout horizons differ: ${first.markout_horizons_seconds.join(',')}s vs ${p.markout_horizons_seconds.join(',')}s`);
    }
    if (p.dimensions.join(',') !== first.dimensions.join(',')) throw new IncompatiblePartialsError(`dimensions differ: ${first.dimensions.join(',')} vs ${p.dimensions.join(',')}`);
  }
  const horizons = first.markout_horizons_seconds;
  const keys = tcaSumKeys(horizons);
  const byGroup = new Map<string, { dimension: TcaGroupSums['dimension']; key: string | null; sums: TcaExactSums[] }>();
  for (const p of parts) {
    for (const g of p.groups) {
      const id = JSON.stringify([g.dimension, g.key]);
      const target = byGroup.get(id) ?? { dimension: g.dimension, key: g.key, sums: [] };
      target.sums.push(g.sums);
      byGroup.set(id, target);
    }
  }
  const groups = [...byGroup.values()]
    .map((g) => ({ dimension: g.dimension, key: g.key, sums: toNumbers(g.sums, keys) }))
    .sort((a, b) => groupOrder(a, b, first.dimensions));
  const total = groups.find((g) => g.dimension === 'total')?.sums ?? toNumbers([], keys);
  const by: Partial<Record<TcaDimension, TcaGroupReport[]>> = {};
  for (const d of first.dimensions) by[d] = groups.filter((g) => g.dimension === d).map((g) => ({ key: g.key, ...tcaMetrics(g.sums, horizons) }));
  const report: TcaReport = { markout_seconds: first.markout_seconds, markout_horizons_seconds: [...horizons], total: tcaMetrics(total, horizons), by };
  if (parts.some((p) => p.orders)) {
    report.orders = parts
      .flatMap((p) => p.orders ?? [])
      .sort((a, b) => compareKeys(a.order_id, b.order_id))
      .map(({ sums, ...ids }) => ({ ...ids, ...tcaMetrics(toNumbers([sums], keys), horizons) }));
  }
  const detail = parts.flatMap((p) => (p.detail ? [p.detail] : []));
  if (detail.length > 0) report.detail = detail.sort((a, b) => compareKeys(a.partition, b.partition));
  return report;
}
