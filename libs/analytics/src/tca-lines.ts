import { type Db } from './duckdb.js';
import { tableSource, type TableFiles } from './source.js';

/**
 * Prices are compared (RPM: a print against the order's average price; price improvement: a fill
 * against the quote) as DECIMAL at 6 decimal places, the OMS's avg_px precision: an average price
 * computed in floating point is then equal to a print at the same price instead of one ulp off.
 */
export const PRICE_DECIMAL = 'DECIMAL(18, 6)';

/**
 * The exact type every sum is taken in: each line's value is rounded once to 1e-12 and the sum is
 * integer arithmetic, so it does not depend on the order DuckDB's threads combine partial sums in.
 */
export const EXACT_DECIMAL = 'DECIMAL(38, 12)';

/**
 * Prints per block of the tape in the RPM look-up (see buildRpm). A block is either read whole
 * through its price-sorted cumulative volume (one as-of probe) or row by row at the two ends of an
 * interval, so the cost per order is about (prints in the interval / B) + 2B: 32 suits intervals of
 * a few hundred to a few thousand prints.
 */
const RPM_BLOCK = 32;

/** Column-name suffix of markout horizon `seconds` (`60s`, `1.5s`). */
export function horizonLabel(seconds: number): `${number}s` {
  return `${seconds}s`;
}

export interface TcaLinesInput {
  orders: TableFiles;
  fills: TableFiles;
  quotes: TableFiles;
  trades?: TableFiles;
}

/**
 * Builds `lines` (a table or a view, as asked): one row per effective fill plus one per order, with
 * every additive TCA quantity as a column (zero where it does not apply), and the per-horizon
 * realized spread and price impact as `realized_spread_cost_<h>s` / `price_impact_cost_<h>s`.
 *
 * Cost is dominated by sorting the market data, so every quote look-up (arrival mid, TWAP ends,
 * fill-time quote, every markout quote) goes through ONE as-of join, and every tape look-up
 * (interval ends, RPM blocks) through the tape sorted once. Only what several statements read, or
 * what would be expensive to recompute, is a table: a relation read once is a view, which DuckDB
 * streams into its reader instead of writing it out (writing the per-fill relations out took 10-20%
 * of the run).
 *
 * Reproducibility: group sums of prints (several at one timestamp) are exact DECIMAL sums; running
 * sums over a symbol's quotes or tape are window sums in timestamp order, which DuckDB evaluates
 * in that order whatever the thread count (quotes are assumed to have distinct timestamps per
 * symbol: between quotes of one instant the as-of join picks any).
 */
export async function buildTcaLines(db: Db, input: TcaLinesInput, horizons: readonly number[], lines: 'table' | 'view'): Promise<void> {
  const orders = await tableSource(db, 'orders', input.orders);
  const fills = await tableSource(db, 'fills', input.fills);
  const quotes = await tableSource(db, 'quotes', input.quotes);
  const trades = input.trades ? await tableSource(db, 'trades', input.trades) : null;
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
  const markoutPoints = horizons
    .map((h, i) => `UNION ALL SELECT symbol, ts + to_microseconds(${Math.round(h * 1e6)}::BIGINT), fill_id, 'm${i}' FROM f`)
    .join('\n      ');
  // Far-future look-ups per symbol return the day's last quote and the whole tape (close, day VWAP).
  await db.exec(`
    CREATE TEMP VIEW qpoints AS
      SELECT symbol, arrival_ts AS ts, order_id AS ref, 'arr' AS role FROM o
      UNION ALL SELECT symbol, end_ts, order_id, 'end' FROM o
      UNION ALL SELECT symbol, ts, fill_id, 'fill' FROM f
      ${markoutPoints}
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
      -- tp: the tape per (symbol, instant, price at 6 dp), numbered rn = 0, 1, ... in (ts, px) order per
      -- symbol, for RPM. Group sums are exact (DECIMAL): prints of one group may be added by several threads.
      CREATE TEMP TABLE tp AS
      WITH g AS (
        SELECT symbol, ts, CAST(price AS ${PRICE_DECIMAL}) AS px, sum(CAST(qty AS ${EXACT_DECIMAL})) AS v,
               sum(CAST(qty * price AS ${EXACT_DECIMAL})) AS pv
        FROM ${trades} WHERE symbol IN (SELECT DISTINCT symbol FROM o) GROUP BY ALL
      )
      SELECT *, rn // ${RPM_BLOCK} AS blk FROM (SELECT *, row_number() OVER (PARTITION BY symbol ORDER BY ts, px) - 1 AS rn FROM g);
      -- The tape per instant with running volume, value and row count (cum_n: tp rows up to this instant).
      -- The interval starts strictly after the arrival instant: "< arrival" is "<= arrival - 1us" at
      -- timestamp resolution, so both ends of every order share one as-of join.
      CREATE TEMP TABLE tlook AS
      WITH g AS (
        SELECT symbol, ts, sum(v)::DOUBLE AS v, sum(pv)::DOUBLE AS pv, count(*) AS n FROM tp GROUP BY symbol, ts
      ), tape AS (
        SELECT symbol, ts, v, pv, sum(v) OVER w AS cum_v, sum(pv) OVER w AS cum_pv, sum(n) OVER w AS cum_n FROM g
        WINDOW w AS (PARTITION BY symbol ORDER BY ts ROWS UNBOUNDED PRECEDING)
      ), pts AS (
        SELECT symbol, arrival_ts - INTERVAL 1 MICROSECOND AS ts, order_id AS ref, 'start' AS role FROM o
        UNION ALL SELECT symbol, end_ts, order_id, 'end' FROM o
        UNION ALL SELECT DISTINCT symbol, TIMESTAMP '9999-12-31', symbol, 'close' FROM o
      )
      SELECT p.ref, p.role, coalesce(t.cum_v, 0) AS cum_v, coalesce(t.cum_pv, 0) AS cum_pv, coalesce(t.cum_n, 0)::BIGINT AS cum_n,
             t.pv / t.v AS last_px
      FROM pts p ASOF LEFT JOIN tape t ON t.symbol = p.symbol AND t.ts <= p.ts;
      CREATE TEMP TABLE day AS
        SELECT ref AS symbol, cum_pv / nullif(cum_v, 0) AS day_vwap, last_px AS close_px FROM tlook WHERE role = 'close';
    `);
  } else {
    await db.exec(`
      CREATE TEMP TABLE day AS SELECT ref AS symbol, NULL::DOUBLE AS day_vwap, mid AS close_px FROM qlook WHERE role = 'close';
      CREATE TEMP TABLE tlook (ref VARCHAR, role VARCHAR, cum_v DOUBLE, cum_pv DOUBLE, cum_n BIGINT, last_px DOUBLE);
    `);
  }
  await db.exec(`
    -- Executed quantity and average price per order, exact (a float sum's last bits depend on the thread order).
    CREATE TEMP TABLE ofill AS
      SELECT order_id, sum(CAST(last_qty AS ${EXACT_DECIMAL}))::DOUBLE AS exec_qty,
             CAST(sum(CAST(last_qty * last_px AS ${EXACT_DECIMAL})) / sum(CAST(last_qty AS ${EXACT_DECIMAL})) AS ${PRICE_DECIMAL}) AS avg_px
      FROM f GROUP BY order_id;

    -- Order-level benchmarks: arrival (OMS value, else the prevailing mid), interval VWAP from the
    -- cumulative tape at both ends, TWAP of the mid from its time-integral at both ends; r0, r1 the
    -- tape rows of the interval [arrival_ts, end_ts] (rn in [r0, r1)).
    CREATE TEMP TABLE ob AS
    SELECT o.*, coalesce(o.arrival_px, qa.mid) AS arrival,
           coalesce(te.cum_v, 0) - coalesce(ts0.cum_v, 0) AS iv_v,
           CASE WHEN coalesce(te.cum_v, 0) - coalesce(ts0.cum_v, 0) > 0
                THEN (te.cum_pv - coalesce(ts0.cum_pv, 0)) / (te.cum_v - coalesce(ts0.cum_v, 0)) END AS ivwap,
           CASE WHEN o.end_ts > o.arrival_ts AND qa.quote_ts IS NOT NULL
                THEN (qe.integral - qa.integral) / ((epoch_us(o.end_ts) - epoch_us(o.arrival_ts)) / 1e6)
                ELSE qa.mid END AS twap,
           d.day_vwap, d.close_px, coalesce(ts0.cum_n, 0) AS r0, coalesce(te.cum_n, 0) AS r1
    FROM o
    LEFT JOIN qlook qa ON qa.ref = o.order_id AND qa.role = 'arr'
    LEFT JOIN qlook qe ON qe.ref = o.order_id AND qe.role = 'end'
    LEFT JOIN tlook ts0 ON ts0.ref = o.order_id AND ts0.role = 'start'
    LEFT JOIN tlook te ON te.ref = o.order_id AND te.role = 'end'
    LEFT JOIN day d ON d.symbol = o.symbol;
  `);
  await buildRpm(db, trades !== null);
  const horizonCols = horizons.map((_, i) => `q${i + 1}.mid AS mid_m${i}`).join(', ');
  const horizonJoins = horizons.map((_, i) => `LEFT JOIN qlook q${i + 1} ON q${i + 1}.ref = f.fill_id AND q${i + 1}.role = 'm${i}'`).join('\n    ');
  const horizonFillSums = horizons
    .map((h, i) => {
      const label = horizonLabel(h);
      return `coalesce(2 * ob.sign * fl.qty * (fl.px - fl.mid_m${i}), 0) AS realized_spread_cost_${label},
           coalesce(2 * ob.sign * fl.qty * (fl.mid_m${i} - fl.mid), 0) AS price_impact_cost_${label}`;
    })
    .join(',\n           ');
  const horizonOrderSums = horizons.map((h) => `0.0 AS realized_spread_cost_${horizonLabel(h)}, 0.0 AS price_impact_cost_${horizonLabel(h)}`).join(', ');
  const horizonMids = horizons.map((h, i) => `fl.mid_m${i} AS mid_${horizonLabel(h)}`).join(', ');
  const horizonNullMids = horizons.map((h) => `NULL::DOUBLE AS mid_${horizonLabel(h)}`).join(', ');
  await db.exec(`
    -- Fill-level benchmarks: the quote prevailing at the fill and at fill + each markout horizon.
    CREATE TEMP VIEW fl AS
    SELECT f.fill_id, f.order_id, f.ts, f.venue, f.last_qty AS qty, f.last_px AS px, f.commission, f.fees,
           q0.bid, q0.ask, q0.mid, ${horizonCols}
    FROM f
    LEFT JOIN qlook q0 ON q0.ref = f.fill_id AND q0.role = 'fill'
    ${horizonJoins};

    CREATE TEMP ${lines === 'table' ? 'TABLE' : 'VIEW'} lines AS
    SELECT ob.order_id, fl.fill_id, fl.ts, ob.desk, ob.symbol, ob.side, ob.broker, ob.algo, ob.trader, fl.venue,
           fl.qty, fl.px, fl.bid, fl.ask, fl.mid, ${horizonMids},
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
           coalesce(fl.qty * fl.mid, 0) AS spread_base,
           ${horizonFillSums},
           CASE WHEN fl.ask > fl.bid THEN fl.qty * ob.sign * ((CASE WHEN ob.sign > 0 THEN fl.ask ELSE fl.bid END) - fl.px) ELSE 0 END AS spread_capture_num,
           CASE WHEN fl.ask > fl.bid THEN fl.qty * (fl.ask - fl.bid) ELSE 0 END AS spread_capture_den,
           -- Price improvement against the far side (ask for a buy, bid for a sell); no quote: not counted.
           coalesce(fl.qty * ob.sign * ((CASE WHEN ob.sign > 0 THEN fl.ask ELSE fl.bid END) - fl.px), 0) AS price_improvement_num,
           coalesce(fl.qty * (CASE WHEN ob.sign > 0 THEN fl.ask ELSE fl.bid END), 0) AS price_improvement_base,
           CASE WHEN fl.mid IS NULL THEN 0.0 ELSE 1.0 END AS quoted_fills,
           CASE WHEN fl.mid IS NOT NULL AND ob.sign * (CAST(CASE WHEN ob.sign > 0 THEN fl.ask ELSE fl.bid END AS ${PRICE_DECIMAL}) - CAST(fl.px AS ${PRICE_DECIMAL})) > 0 THEN 1.0 ELSE 0.0 END AS improved_fills,
           CASE WHEN fl.mid IS NOT NULL AND CAST(CASE WHEN ob.sign > 0 THEN fl.ask ELSE fl.bid END AS ${PRICE_DECIMAL}) = CAST(fl.px AS ${PRICE_DECIMAL}) THEN 1.0 ELSE 0.0 END AS at_quote_fills,
           CASE WHEN fl.mid IS NOT NULL AND ob.sign * (CAST(CASE WHEN ob.sign > 0 THEN fl.ask ELSE fl.bid END AS ${PRICE_DECIMAL}) - CAST(fl.px AS ${PRICE_DECIMAL})) < 0 THEN 1.0 ELSE 0.0 END AS outside_quote_fills,
           0.0 AS interval_market_volume, 0.0 AS participation_qty, 0.0 AS rpm_num, 0.0 AS rpm_den
    FROM fl JOIN ob USING (order_id)
    UNION ALL
    SELECT ob.order_id, NULL, NULL, ob.desk, ob.symbol, ob.side, ob.broker, ob.algo, ob.trader, NULL,
           greatest(ob.order_qty - coalesce(e.exec_qty, 0), 0), NULL, NULL, NULL, NULL, ${horizonNullMids},
           1.0, CASE WHEN coalesce(e.exec_qty, 0) >= ob.order_qty THEN 1.0 ELSE 0.0 END, 0.0, ob.order_qty, 0.0, 0.0,
           0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
           greatest(ob.order_qty - coalesce(e.exec_qty, 0), 0) * ob.decision_px,
           0.0, 0.0,
           coalesce(ob.sign * greatest(ob.order_qty - coalesce(e.exec_qty, 0), 0) * (ob.close_px - ob.decision_px), 0),
           0.0, 0.0, ${horizonOrderSums}, 0.0, 0.0,
           0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
           CASE WHEN ob.iv_v > 0 THEN ob.iv_v ELSE 0 END,
           CASE WHEN ob.iv_v > 0 THEN coalesce(e.exec_qty, 0) ELSE 0 END,
           coalesce(r.rpm_num, 0), coalesce(r.rpm_den, 0)
    FROM ob LEFT JOIN ofill e USING (order_id) LEFT JOIN rpm r USING (order_id);
  `);
}

/**
 * `rpm(order_id, rpm_num, rpm_den)`: Kissell's Relative Performance Measure of every filled order
 * with prints in its interval, as `rpm_num / rpm_den` = (volume at prices worse than the order's
 * average price + half the volume at that price) / interval volume, prices at 6 dp.
 *
 * The interval's prints are tape rows rn in [r0, r1). Rows are grouped in blocks of RPM_BLOCK: a
 * block wholly inside the interval is answered by one as-of probe into its price-sorted cumulative
 * volume (vol_ge: volume at prices >= px), the rows of the (at most two) blocks the interval only
 * partly covers one by one. This avoids joining every order with every print of its interval,
 * which at a day's tape is orders x thousands of rows.
 */
async function buildRpm(db: Db, haveTrades: boolean): Promise<void> {
  if (!haveTrades) {
    await db.exec(`CREATE TEMP TABLE rpm (order_id VARCHAR, rpm_num DOUBLE, rpm_den DOUBLE);`);
    return;
  }
  const b = RPM_BLOCK;
  await db.exec(`
    CREATE TEMP TABLE rq AS
      SELECT ob.order_id, ob.symbol, ob.sign, e.avg_px AS p, ob.r0, ob.r1,
             (ob.r0 + ${b - 1}) // ${b} AS fb0, ob.r1 // ${b} AS fb1, ob.r0 // ${b} AS b_lo, (ob.r1 - 1) // ${b} AS b_hi
      FROM ob JOIN ofill e USING (order_id) WHERE ob.r1 > ob.r0 AND e.avg_px IS NOT NULL;
    CREATE TEMP TABLE blk_px AS
      SELECT symbol, blk, px, vol,
             sum(vol) OVER (PARTITION BY symbol, blk ORDER BY px DESC ROWS UNBOUNDED PRECEDING) AS vol_ge
      FROM (SELECT symbol, blk, px, sum(v) AS vol FROM tp GROUP BY ALL);
    CREATE TEMP TABLE rpm AS
    WITH full_blocks AS (
      SELECT order_id, symbol, sign, p, unnest(range(fb0, fb1)) AS blk FROM rq WHERE fb0 < fb1
    ), block_total AS (
      SELECT symbol, blk, sum(v) AS vol FROM tp GROUP BY ALL
    ), from_blocks AS (
      -- The lowest price >= p in the block: volume at >= p, and at exactly p when that price is p.
      SELECT fb.order_id, t.vol AS total,
             coalesce(q.vol_ge, 0) - (CASE WHEN q.px = fb.p THEN q.vol ELSE 0 END) AS above,
             CASE WHEN q.px = fb.p THEN q.vol ELSE 0 END AS at_p
      FROM full_blocks fb
      ASOF LEFT JOIN blk_px q ON q.symbol = fb.symbol AND q.blk = fb.blk AND q.px >= fb.p
      JOIN block_total t ON t.symbol = fb.symbol AND t.blk = fb.blk
    ), edge AS (
      SELECT rq.order_id, rq.p, tp.px, tp.v FROM rq JOIN tp ON tp.symbol = rq.symbol AND tp.blk = rq.b_lo
      WHERE tp.rn >= rq.r0 AND tp.rn < rq.r1 AND NOT (tp.blk >= rq.fb0 AND tp.blk < rq.fb1)
      UNION ALL
      SELECT rq.order_id, rq.p, tp.px, tp.v FROM rq JOIN tp ON tp.symbol = rq.symbol AND tp.blk = rq.b_hi
      WHERE rq.b_hi <> rq.b_lo AND tp.rn >= rq.r0 AND tp.rn < rq.r1 AND NOT (tp.blk >= rq.fb0 AND tp.blk < rq.fb1)
    ), parts AS (
      SELECT order_id, total, above, at_p FROM from_blocks
      UNION ALL
      SELECT order_id, v, CASE WHEN px > p THEN v ELSE 0 END, CASE WHEN px = p THEN v ELSE 0 END FROM edge
    ), per_order AS (
      SELECT order_id, sum(total) AS total, sum(above) AS above, sum(at_p) AS at_p FROM parts GROUP BY order_id
    )
    -- Worse than the average price: above it for a buy, below it (total - above - at) for a sell.
    SELECT r.order_id,
           ((CASE WHEN r.sign > 0 THEN po.above ELSE po.total - po.above - po.at_p END) + po.at_p / 2)::DOUBLE AS rpm_num,
           po.total::DOUBLE AS rpm_den
    FROM rq r JOIN per_order po USING (order_id) WHERE po.total > 0;
  `);
}
