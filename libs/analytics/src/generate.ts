import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { type Db, errorMessage, sqlString, withDuckDb } from './duckdb.js';
import { DataFileAccessError, InvalidAnalyticsOptionsError } from './errors.js';
import { SCHEMAS, type TableName } from './schemas.js';

/** Deterministic (seeded, no Math.random) sample business day, hive-partitioned by business date and desk. */
export interface GenerateOptions {
  outDir: string;
  /** YYYY-MM-DD */
  businessDate: string;
  seed: number;
  desks: string[];
  /** Number of symbols (default 20). */
  symbols?: number;
  /** Parent orders per desk (default 200). */
  ordersPerDesk?: number;
  /** Top-of-book updates per symbol over the session (default 2000). */
  quotesPerSymbol?: number;
  /** Market prints per symbol (default quotesPerSymbol / 2). */
  tradesPerSymbol?: number;
  /** Mean child fills per filled order (default 8). */
  fillsPerOrder?: number;
  /** Daily bars of history in the prices table, ending at the business date (default 260). */
  historyDays?: number;
  /**
   * Symbols each desk trades (default: all). Desk k (0-based, in `desks` order) trades symbols
   * k·n+1 … k·n+n, wrapping past the last: a desk's book, so desks share symbols only when
   * desks × n > symbols.
   */
  symbolsPerDesk?: number;
  /**
   * Write quotes and trades as one file per symbol (`…/business_date=<d>/symbol=<SYM>/part-0.<ext>`)
   * instead of one file each (default false): a partition then reads only the symbols its orders
   * touch. The files together hold exactly the rows of the single file, in the same order.
   */
  marketFilesBySymbol?: boolean;
  format?: 'csv' | 'parquet';
}

export interface GeneratedTable {
  table: TableName;
  desk?: string;
  /** The one symbol the file holds (quotes and trades with `marketFilesBySymbol`). */
  symbol?: string;
  /** absolute */
  path: string;
  rows: number;
}

/** Brokers with their commission rate in currency per share (drives commission bps per broker). */
const BROKERS: Array<[string, number]> = [
  ['BRKA', 0.001],
  ['BRKB', 0.0015],
  ['BRKC', 0.002],
  ['BRKD', 0.0025],
  ['BRKE', 0.003],
];
const ALGOS = ['VWAP', 'TWAP', 'POV', 'IS', 'LIQSEEK'];
/** Venues with exchange fee per share (dark pool: none). */
const VENUES: Array<[string, number]> = [
  ['XNYS', 0.0003],
  ['XNAS', 0.0003],
  ['ARCX', 0.00025],
  ['BATS', 0.0002],
  ['IEXG', 0.0009],
  ['DARK1', 0],
];

const SESSION_SECONDS = 23_400; // 09:30-16:00
const MARKET_TABLES: TableName[] = ['prices', 'quotes', 'trades'];
/** Market tables that `marketFilesBySymbol` splits: the large intraday ones. */
const SYMBOL_TABLES: TableName[] = ['quotes', 'trades'];
const DESK_TABLES: TableName[] = ['orders', 'fills'];

/**
 * Generates one business day of market and order data entirely in SQL (no row loops in JS):
 *
 * - prices: daily bars, geometric Brownian motion per symbol over `historyDays` weekdays ending at
 *   the business date; the business date's bar is aggregated from that day's trades.
 * - quotes: intraday GBM mid starting at the previous close, top of book on a 0.01 tick with a
 *   per-symbol spread.
 * - trades: market prints at bid, ask or mid of the prevailing quote.
 * - orders/fills per desk: parent orders (decision/arrival price from the quote mid, broker, algo,
 *   trader, optional limit), child fills at the prevailing quote spread over the order's working
 *   interval, partial fills, cancels, rejects, busts and price corrections; orders carry the final
 *   cum_qty/avg_px after busts and corrections.
 *
 * Randomness is `hash(seed, stream, keys...)` mapped to (0,1): the same options always produce
 * byte-identical files (for the same DuckDB version), whatever the thread count.
 *
 * Layout: `<outDir>/<table>/business_date=<date>/desk=<desk>/part-0.<ext>` for orders and fills,
 * `<outDir>/<table>/business_date=<date>/part-0.<ext>` for prices, quotes and trades (with
 * `marketFilesBySymbol`, `<outDir>/<table>/business_date=<date>/symbol=<SYM>/part-0.<ext>` for
 * quotes and trades, in symbol order).
 */
export async function generateBusinessDay(opts: GenerateOptions): Promise<{ files: GeneratedTable[] }> {
  const o = resolveOptions(opts);
  return withDuckDb(async (db) => {
    await defineRandomMacros(db, o.seed);
    await buildMarket(db, o);
    await buildOrders(db, o);
    const files: GeneratedTable[] = [];
    for (const table of MARKET_TABLES) {
      if (o.marketFilesBySymbol && SYMBOL_TABLES.includes(table)) files.push(...(await writeBySymbol(db, o, table)));
      else files.push(await writeTable(db, o, table));
    }
    for (const desk of o.desks) for (const table of DESK_TABLES) files.push(await writeTable(db, o, table, { desk }));
    return { files };
  });
}

interface Resolved {
  outDir: string;
  businessDate: string;
  seed: number;
  desks: string[];
  symbols: number;
  ordersPerDesk: number;
  quotesPerSymbol: number;
  tradesPerSymbol: number;
  fillsPerOrder: number;
  historyDays: number;
  symbolsPerDesk: number;
  marketFilesBySymbol: boolean;
  format: 'csv' | 'parquet';
}

function resolveOptions(opts: GenerateOptions): Resolved {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(opts.businessDate) || Number.isNaN(Date.parse(`${opts.businessDate}T00:00:00Z`))) {
    throw new InvalidAnalyticsOptionsError(`businessDate must be YYYY-MM-DD, got "${opts.businessDate}"`);
  }
  const day = new Date(`${opts.businessDate}T00:00:00Z`).getUTCDay();
  if (day === 0 || day === 6) throw new InvalidAnalyticsOptionsError(`businessDate ${opts.businessDate} is a weekend`);
  if (!Number.isSafeInteger(opts.seed)) throw new InvalidAnalyticsOptionsError(`seed must be a safe integer, got ${opts.seed}`);
  if (opts.desks.length === 0) throw new InvalidAnalyticsOptionsError('desks must not be empty');
  for (const desk of opts.desks) {
    if (!/^[A-Za-z0-9_-]+$/.test(desk)) throw new InvalidAnalyticsOptionsError(`desk "${desk}" must match [A-Za-z0-9_-]+`);
  }
  if (new Set(opts.desks).size !== opts.desks.length) throw new InvalidAnalyticsOptionsError('desks must be distinct');
  const int = (name: string, value: number | undefined, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < min) throw new InvalidAnalyticsOptionsError(`${name} must be an integer >= ${min}, got ${v}`);
    return v;
  };
  const quotesPerSymbol = int('quotesPerSymbol', opts.quotesPerSymbol, 2000, 10);
  if (quotesPerSymbol > 1_000_000) throw new InvalidAnalyticsOptionsError('quotesPerSymbol must be <= 1000000 (one quote per 23 ms)');
  const symbols = int('symbols', opts.symbols, 20, 1);
  const symbolsPerDesk = int('symbolsPerDesk', opts.symbolsPerDesk, symbols, 1);
  if (symbolsPerDesk > symbols) throw new InvalidAnalyticsOptionsError(`symbolsPerDesk must be <= symbols (${symbols}), got ${symbolsPerDesk}`);
  return {
    outDir: isAbsolute(opts.outDir) ? opts.outDir : resolve(opts.outDir),
    businessDate: opts.businessDate,
    seed: opts.seed,
    desks: [...opts.desks],
    symbols,
    ordersPerDesk: int('ordersPerDesk', opts.ordersPerDesk, 200, 1),
    quotesPerSymbol,
    tradesPerSymbol: int('tradesPerSymbol', opts.tradesPerSymbol, Math.max(10, Math.floor(quotesPerSymbol / 2)), 10),
    fillsPerOrder: int('fillsPerOrder', opts.fillsPerOrder, 8, 1),
    historyDays: int('historyDays', opts.historyDays, 260, 2),
    symbolsPerDesk,
    marketFilesBySymbol: opts.marketFilesBySymbol ?? false,
    format: opts.format ?? 'csv',
  };
}

async function defineRandomMacros(db: Db, seed: number): Promise<void> {
  // hash() is a 64-bit mix; the top 53 bits give a double in (0,1) that never hits 0 or 1.
  await db.exec(`
    CREATE TEMP MACRO rnd(stream, k1, k2, k3) AS ((hash(${seed}::BIGINT, stream, k1, k2, k3) >> 11)::DOUBLE + 0.5) / 9007199254740992.0;
    CREATE TEMP MACRO nrm(stream, k1, k2, k3) AS sqrt(-2.0 * ln(rnd(stream || '.a', k1, k2, k3))) * cos(2.0 * pi() * rnd(stream || '.b', k1, k2, k3));
    CREATE TEMP MACRO pick(list, u) AS list[1 + least(floor(u * len(list))::BIGINT, len(list) - 1)];
  `);
}

async function buildMarket(db: Db, o: Resolved): Promise<void> {
  const date = sqlString(o.businessDate);
  const open = `(${date}::DATE + INTERVAL 9 HOUR + INTERVAL 30 MINUTE)`;
  await db.exec(`
    CREATE TABLE symbols AS
    SELECT i AS sym_id, printf('SYM%03d', i) AS symbol,
           round(20 + 180 * rnd('p0', i, 0, 0), 2) AS p0,
           0.15 + 0.35 * rnd('vol', i, 0, 0) AS sigma,
           2 + 18 * rnd('spr', i, 0, 0) AS spread_bps,
           0.05 AS mu
    FROM range(1, ${o.symbols + 1}) t(i);

    -- The last ${o.historyDays} weekdays up to and including the business date.
    CREATE TABLE days AS
    SELECT d::DATE AS date, row_number() OVER (ORDER BY d) AS k FROM (
      SELECT d FROM range(${date}::DATE - INTERVAL ${o.historyDays * 2 + 10} DAY, ${date}::DATE + INTERVAL 1 DAY, INTERVAL 1 DAY) t(d)
      WHERE dayofweek(d) NOT IN (0, 6) ORDER BY d DESC LIMIT ${o.historyDays}
    );

    -- Daily GBM closes for every day before the business date. Log-returns are summed as DECIMAL so the
    -- running sum is exact and identical whatever the thread schedule.
    CREATE TABLE daily AS
    WITH steps AS (
      SELECT s.symbol, s.sigma, d.date, d.k, s.p0,
             CAST((s.mu - s.sigma * s.sigma / 2) / 252 + s.sigma / sqrt(252) * nrm('day', s.sym_id, d.k, 0) AS DECIMAL(38, 18)) AS step,
             rnd('open', s.sym_id, d.k, 0) AS u_open, abs(nrm('range', s.sym_id, d.k, 0)) AS z_range, rnd('volume', s.sym_id, d.k, 0) AS u_vol
      FROM symbols s CROSS JOIN days d WHERE d.k < ${o.historyDays}
    ), path AS (
      SELECT *, p0 * exp(sum(step) OVER (PARTITION BY symbol ORDER BY k ROWS UNBOUNDED PRECEDING)::DOUBLE) AS close_raw FROM steps
    )
    SELECT date, k, symbol, sigma, close_raw,
           lag(close_raw, 1, p0) OVER (PARTITION BY symbol ORDER BY k) * exp((u_open - 0.5) * sigma / sqrt(252) * 0.3) AS open_raw,
           z_range, u_vol
    FROM path;

    -- Intraday mid path from the previous close, one step per quote.
    CREATE TABLE quotes AS
    WITH base AS (
      SELECT s.sym_id, s.symbol, s.sigma, s.mu, s.spread_bps, d.close_raw AS prev_close
      FROM symbols s JOIN daily d ON d.symbol = s.symbol AND d.k = ${o.historyDays - 1}
    ), steps AS (
      SELECT b.*, i,
             ${open} + to_microseconds((floor((i - 1 + 0.8 * rnd('qt', b.sym_id, i, 0)) * ${SESSION_SECONDS * 1000} / ${o.quotesPerSymbol}) * 1000)::BIGINT) AS ts,
             CAST((b.mu - b.sigma * b.sigma / 2) / (252 * ${o.quotesPerSymbol}) + b.sigma / sqrt(252 * ${o.quotesPerSymbol}) * nrm('q', b.sym_id, i, 0) AS DECIMAL(38, 18)) AS step,
             b.spread_bps * (0.5 + rnd('qs', b.sym_id, i, 0)) / 2e4 AS half_spread
      FROM base b CROSS JOIN range(0, ${o.quotesPerSymbol}) t(i)
    ), path AS (
      SELECT *, prev_close * exp(sum(step) OVER (PARTITION BY symbol ORDER BY i ROWS UNBOUNDED PRECEDING)::DOUBLE) AS mid FROM steps
    )
    SELECT ts, symbol,
           round(floor(mid * (1 - half_spread) * 100) / 100, 2) AS bid,
           round(ceil(mid * (1 + half_spread) * 100) / 100, 2) AS ask,
           100 * (1 + floor(20 * rnd('bsz', sym_id, i, 0)))::BIGINT AS bid_size,
           100 * (1 + floor(20 * rnd('asz', sym_id, i, 0)))::BIGINT AS ask_size
    FROM path;

    CREATE TABLE trades AS
    WITH prints AS (
      SELECT s.sym_id, s.symbol, j,
             ${open} + to_microseconds((floor((j + 0.9 * rnd('tt', s.sym_id, j, 0)) * ${SESSION_SECONDS * 1000} / ${o.tradesPerSymbol}) * 1000)::BIGINT) AS ts
      FROM symbols s CROSS JOIN range(0, ${o.tradesPerSymbol}) t(j)
    )
    SELECT p.ts, p.symbol,
           CASE WHEN rnd('tside', p.sym_id, p.j, 0) < 0.45 THEN q.bid WHEN rnd('tside', p.sym_id, p.j, 0) < 0.9 THEN q.ask ELSE round((q.bid + q.ask) / 2, 3) END AS price,
           100 * (1 + floor(30 * rnd('tq', p.sym_id, p.j, 0)))::BIGINT AS qty
    FROM prints p ASOF JOIN quotes q ON q.symbol = p.symbol AND q.ts <= p.ts;

    CREATE TABLE prices AS
    SELECT date, symbol, round(open_raw, 2) AS open,
           round(greatest(open_raw, close_raw) * (1 + z_range * sigma / sqrt(252) * 0.5), 2) AS high,
           round(least(open_raw, close_raw) * (1 - z_range * sigma / sqrt(252) * 0.5), 2) AS low,
           round(close_raw, 2) AS close, (500000 + floor(1000000 * u_vol))::BIGINT AS volume
    FROM daily
    UNION ALL
    SELECT ${date}::DATE, symbol, arg_min(price, ts), max(price), min(price), arg_max(price, ts), sum(qty)::BIGINT
    FROM trades GROUP BY symbol;
  `);
}

async function buildOrders(db: Db, o: Resolved): Promise<void> {
  const date = sqlString(o.businessDate);
  const open = `(${date}::DATE + INTERVAL 9 HOUR + INTERVAL 30 MINUTE)`;
  const close = `(${date}::DATE + INTERVAL 16 HOUR)`;
  const ms = (expr: string): string => `to_microseconds((floor(${expr}) * 1000)::BIGINT)`;
  const brokers = `[${BROKERS.map(([b]) => sqlString(b)).join(', ')}]`;
  const rates = `[${BROKERS.map(([, r]) => `${r}::DOUBLE`).join(', ')}]`;
  const venues = `[${VENUES.map(([v]) => sqlString(v)).join(', ')}]`;
  const venueFees = `[${VENUES.map(([, f]) => `${f}::DOUBLE`).join(', ')}]`;
  const desks = `[${o.desks.map(sqlString).join(', ')}]`;
  const compactDate = o.businessDate.replaceAll('-', '');
  await db.exec(`
    CREATE TABLE order_plan AS
    WITH raw AS (
      SELECT desk, i,
             printf('%s-${compactDate}-%06d', desk, i) AS order_id,
             desk || '-T' || (1 + floor(4 * rnd('trader', desk, i, 0)))::BIGINT AS trader,
             -- The desk's book: symbolsPerDesk consecutive symbols from desk_ix * symbolsPerDesk (all of them by default,
             -- which draws exactly what a draw over every symbol did).
             printf('SYM%03d', 1 + ((list_position(${desks}, desk) - 1) * ${o.symbolsPerDesk} + floor(${o.symbolsPerDesk} * rnd('sym', desk, i, 0))::BIGINT) % ${o.symbols}) AS symbol,
             CASE WHEN rnd('side', desk, i, 0) < 0.5 THEN 'BUY' ELSE 'SELL' END AS side,
             (100 * (10 + floor(190 * rnd('qty', desk, i, 0))))::BIGINT AS order_qty,
             ${open} + INTERVAL 60 SECOND + ${ms(`rnd('dec', desk, i, 0) * ${(SESSION_SECONDS - 3660) * 1000}`)} AS decision_ts,
             1 + 119 * rnd('delay', desk, i, 0) AS delay_s,
             300 + 6900 * rnd('dur', desk, i, 0) AS duration_s,
             floor(${BROKERS.length} * rnd('broker', desk, i, 0))::BIGINT + 1 AS broker_ix,
             pick(${JSON.stringify(ALGOS).replaceAll('"', "'")}, rnd('algo', desk, i, 0)) AS algo,
             rnd('fate', desk, i, 0) AS u_fate, rnd('frac', desk, i, 0) AS u_frac, rnd('limit', desk, i, 0) AS u_limit,
             greatest(1, round(${o.fillsPerOrder * 2 - 1} * rnd('nfill', desk, i, 0)))::BIGINT AS n_fills
      FROM unnest(${desks}) d(desk) CROSS JOIN range(1, ${o.ordersPerDesk + 1}) t(i)
    ), timed AS (
      SELECT *, decision_ts + ${ms('delay_s * 1000')} AS arrival_ts FROM raw
    ), priced AS (
      SELECT t.*, round((qd.bid + qd.ask) / 2, 4) AS decision_px FROM timed t ASOF JOIN quotes qd ON qd.symbol = t.symbol AND qd.ts <= t.decision_ts
    )
    SELECT p.*, round((qa.bid + qa.ask) / 2, 4) AS arrival_px,
           CASE WHEN u_fate < 0.03 THEN 'REJECTED' WHEN u_fate < 0.09 THEN 'CANCELLED' ELSE 'WORKED' END AS fate,
           CASE WHEN u_fate < 0.03 THEN arrival_ts ELSE least(arrival_ts + ${ms('duration_s * 1000')}, ${close}) END AS end_ts,
           CASE WHEN u_fate < 0.03 THEN 0
                WHEN u_fate < 0.09 THEN floor(order_qty * 0.6 * u_frac)
                WHEN u_fate < 0.15 THEN floor(order_qty * (0.5 + 0.45 * u_frac))
                ELSE order_qty END::BIGINT AS target_qty,
           ${brokers}[broker_ix] AS broker, ${rates}[broker_ix] AS commission_rate,
           CASE WHEN side = 'BUY' THEN 1 ELSE -1 END AS sign
    FROM priced p ASOF JOIN quotes qa ON qa.symbol = p.symbol AND qa.ts <= p.arrival_ts;

    -- Child fills: integer weights split the target quantity exactly; each fill takes the far side,
    -- the mid or the near side of the prevailing quote.
    CREATE TABLE base_fills AS
    WITH slices AS (
      SELECT p.order_id, p.desk, p.symbol, p.sign, p.commission_rate, p.arrival_ts, p.end_ts, p.target_qty, p.n_fills, j,
             (1 + floor(100 * rnd('w', p.order_id, j, 0)))::BIGINT AS w
      FROM order_plan p CROSS JOIN LATERAL (SELECT unnest(range(1, p.n_fills + 1)) AS j)
      WHERE p.target_qty > 0
    ), cum AS (
      SELECT *, sum(w) OVER (PARTITION BY order_id ORDER BY j ROWS UNBOUNDED PRECEDING) AS cw,
             sum(w) OVER (PARTITION BY order_id) AS tw FROM slices
    ), sized AS (
      SELECT *, (round(target_qty * cw / tw) - round(target_qty * (cw - w) / tw))::BIGINT AS last_qty,
             arrival_ts + to_microseconds((floor((epoch_ms(end_ts) - epoch_ms(arrival_ts)) * (j - 1 + rnd('ft', order_id, j, 0)) / n_fills) * 1000)::BIGINT) AS ts
      FROM cum
    )
    SELECT s.order_id, s.desk, printf('%s-F%03d', s.order_id, s.j) AS fill_id, s.ts, s.last_qty, s.sign,
           pick(${venues}, rnd('venue', s.order_id, s.j, 0)) AS venue,
           CASE WHEN rnd('aggr', s.order_id, s.j, 0) < 0.5 THEN (CASE WHEN s.sign = 1 THEN q.ask ELSE q.bid END)
                WHEN rnd('aggr', s.order_id, s.j, 0) < 0.8 THEN round((q.bid + q.ask) / 2, 4)
                ELSE (CASE WHEN s.sign = 1 THEN q.bid ELSE q.ask END) END AS last_px,
           round(s.last_qty * s.commission_rate, 2) AS commission,
           rnd('bust', s.order_id, s.j, 0) AS u_bust
    FROM sized s ASOF JOIN quotes q ON q.symbol = s.symbol AND q.ts <= s.ts
    WHERE s.last_qty > 0;

    CREATE TABLE fills AS
    SELECT f.fill_id, f.order_id, f.desk, 'FILL' AS exec_type, NULL::VARCHAR AS ref_fill_id, f.ts, f.venue, f.last_qty, f.last_px, f.commission,
           round(f.last_qty * ${venueFees}[list_position(${venues}, f.venue)], 4) AS fees
    FROM base_fills f
    UNION ALL
    -- Busts cancel a fill outright.
    SELECT f.fill_id || '-X', f.order_id, f.desk, 'BUST', f.fill_id, f.ts + INTERVAL 45 SECOND, f.venue, f.last_qty, f.last_px, 0.0, 0.0
    FROM base_fills f WHERE f.u_bust < 0.005
    UNION ALL
    -- Corrections restate a fill (same execution time) with its price one tick against the client.
    SELECT f.fill_id || '-C', f.order_id, f.desk, 'CORRECT', f.fill_id, f.ts, f.venue, f.last_qty, round(f.last_px + f.sign * 0.01, 4), f.commission,
           round(f.last_qty * ${venueFees}[list_position(${venues}, f.venue)], 4)
    FROM base_fills f WHERE f.u_bust >= 0.005 AND f.u_bust < 0.01;

    CREATE TABLE orders AS
    WITH effective AS (
      -- DECIMAL sums are exact, so avg_px is identical whatever order the threads add the fills in.
      SELECT order_id, sum(last_qty) AS cum_qty, sum(last_qty * CAST(last_px AS DECIMAL(18, 4))) AS px_qty FROM fills
      WHERE exec_type <> 'BUST' AND fill_id NOT IN (SELECT ref_fill_id FROM fills WHERE ref_fill_id IS NOT NULL)
      GROUP BY order_id
    )
    SELECT p.order_id, p.desk, p.trader, p.symbol, p.side, p.order_qty,
           CASE WHEN p.u_limit < 0.3 THEN round(p.arrival_px * (1 + p.sign * 0.005), 2) END AS limit_px,
           p.decision_ts, p.decision_px, p.arrival_ts, p.arrival_px, p.broker, p.algo,
           CASE WHEN p.fate = 'REJECTED' THEN 'REJECTED'
                WHEN coalesce(e.cum_qty, 0) = p.order_qty THEN 'FILLED'
                WHEN p.fate = 'CANCELLED' THEN 'CANCELLED'
                ELSE 'PARTIALLY_FILLED' END AS status,
           p.end_ts, coalesce(e.cum_qty, 0)::BIGINT AS cum_qty, round(e.px_qty::DOUBLE / e.cum_qty, 6) AS avg_px
    FROM order_plan p LEFT JOIN effective e USING (order_id);
  `);
}

/** Sort order of each table's files (and of each symbol's part, whose symbol is fixed). */
const ORDER = { prices: 'symbol, date', quotes: 'symbol, ts', trades: 'symbol, ts', orders: 'order_id', fills: 'order_id, ts, fill_id', returns: 'date' } satisfies Record<TableName, string>;

async function writeTable(db: Db, o: Resolved, table: TableName, part: { desk?: string; symbol?: string; rows?: number } = {}): Promise<GeneratedTable> {
  const { desk, symbol } = part;
  const dir = join(o.outDir, table, `business_date=${o.businessDate}`, ...(desk ? [`desk=${desk}`] : []), ...(symbol ? [`symbol=${symbol}`] : []));
  const path = join(dir, `part-0.${o.format}`);
  const columns = SCHEMAS[table].columns.map((c) => c.name).join(', ');
  const where = desk ? `WHERE desk = ${sqlString(desk)}` : symbol ? `WHERE symbol = ${sqlString(symbol)}` : '';
  const format = o.format === 'csv' ? `FORMAT csv, HEADER true` : `FORMAT parquet, COMPRESSION zstd`;
  // A symbol's part reads the table sorted by symbol (writeBySymbol), whose zone maps skip the other symbols.
  const source = symbol ? `${table}_by_symbol` : table;
  try {
    await mkdir(dir, { recursive: true });
    await db.exec(`COPY (SELECT ${columns} FROM ${source} ${where} ORDER BY ${ORDER[table]}) TO ${sqlString(path)} (${format})`);
  } catch (cause) {
    throw new DataFileAccessError(path, `cannot write: ${errorMessage(cause)}`, { cause, retryable: true });
  }
  const rows = part.rows ?? (await db.one<{ rows: number }>(`SELECT count(*) AS rows FROM ${table} ${where}`)).rows;
  return { table, ...(desk ? { desk } : {}), ...(symbol ? { symbol } : {}), path, rows };
}

/** One file per symbol of `table`, in symbol order: together exactly the rows of the single file, in its order. */
async function writeBySymbol(db: Db, o: Resolved, table: TableName): Promise<GeneratedTable[]> {
  await db.exec(`CREATE TABLE ${table}_by_symbol AS SELECT * FROM ${table} ORDER BY ${ORDER[table]}`);
  const counts = await db.all<{ symbol: string; rows: number }>(
    `SELECT s.symbol, count(t.symbol) AS rows FROM symbols s LEFT JOIN ${table} t ON t.symbol = s.symbol GROUP BY s.symbol ORDER BY s.symbol`,
  );
  const files: GeneratedTable[] = [];
  for (const { symbol, rows } of counts) files.push(await writeTable(db, o, table, { symbol, rows }));
  await db.exec(`DROP TABLE ${table}_by_symbol`);
  return files;
}

export interface ReturnSeriesOptions {
  outDir: string;
  /** Last date of the series, YYYY-MM-DD. */
  endDate: string;
  seed: number;
  /** Portfolio names ([A-Za-z0-9_-]+). */
  portfolios: string[];
  /** Weekdays of history (default 756, three years). */
  days?: number;
}

/**
 * Daily `date,return` CSVs for a benchmark and for portfolios built on it (r_p = a + b·r_b + e with
 * seeded a, b and idiosyncratic noise), for the performance metrics. Deterministic like
 * `generateBusinessDay`. Files: `<outDir>/returns/benchmark.csv`, `<outDir>/returns/<portfolio>.csv`.
 */
export async function generateReturnSeries(opts: ReturnSeriesOptions): Promise<{ benchmark: string; portfolios: Record<string, string> }> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(opts.endDate) || Number.isNaN(Date.parse(`${opts.endDate}T00:00:00Z`))) {
    throw new InvalidAnalyticsOptionsError(`endDate must be YYYY-MM-DD, got "${opts.endDate}"`);
  }
  if (!Number.isSafeInteger(opts.seed)) throw new InvalidAnalyticsOptionsError(`seed must be a safe integer, got ${opts.seed}`);
  for (const p of opts.portfolios) if (!/^[A-Za-z0-9_-]+$/.test(p) || p === 'benchmark') throw new InvalidAnalyticsOptionsError(`bad portfolio name "${p}"`);
  const days = opts.days ?? 756;
  if (!Number.isInteger(days) || days < 2) throw new InvalidAnalyticsOptionsError(`days must be an integer >= 2, got ${days}`);
  const dir = join(isAbsolute(opts.outDir) ? opts.outDir : resolve(opts.outDir), 'returns');
  const names = ['benchmark', ...opts.portfolios];
  const paths = Object.fromEntries(names.map((n) => [n, join(dir, `${n}.csv`)]));
  await withDuckDb(async (db) => {
    await defineRandomMacros(db, opts.seed);
    await db.exec(`
      CREATE TABLE days AS
      SELECT d::DATE AS date FROM range(${sqlString(opts.endDate)}::DATE - INTERVAL ${days * 2 + 10} DAY, ${sqlString(opts.endDate)}::DATE + INTERVAL 1 DAY, INTERVAL 1 DAY) t(d)
      WHERE dayofweek(d) NOT IN (0, 6) ORDER BY d DESC LIMIT ${days};
      CREATE TABLE bench AS SELECT date, round(0.0003 + 0.01 * nrm('bench', epoch_ms(date), 0, 0), 8) AS ret FROM days;
    `);
    try {
      await mkdir(dir, { recursive: true });
      await db.exec(`COPY (SELECT date, ret AS "return" FROM bench ORDER BY date) TO ${sqlString(paths['benchmark'])} (FORMAT csv, HEADER true)`);
      for (const p of opts.portfolios) {
        await db.exec(`
          COPY (
            SELECT b.date, round(a + beta * b.ret + 0.006 * nrm('idio', ${sqlString(p)}, epoch_ms(b.date), 0), 8) AS "return"
            FROM bench b, (SELECT 0.0002 * (rnd('alpha', ${sqlString(p)}, 0, 0) - 0.3) AS a, 0.5 + rnd('beta', ${sqlString(p)}, 0, 0) AS beta)
            ORDER BY b.date
          ) TO ${sqlString(paths[p])} (FORMAT csv, HEADER true)`);
      }
    } catch (cause) {
      throw new DataFileAccessError(dir, `cannot write: ${errorMessage(cause)}`, { cause, retryable: true });
    }
  });
  const { benchmark, ...portfolios } = paths;
  return { benchmark, portfolios };
}
