import { IncompatiblePartialsError, InvalidAnalyticsOptionsError } from './errors.js';
import { normalDensity, normalQuantile } from './normal.js';
import { tableSource, type TableFiles } from './source.js';
import { withInputs } from './tca.js';

export interface RiskInput {
  /** Daily bars (the `prices` table): the history used for historical simulation. Each table may be split over several files. */
  prices: TableFiles;
  /** One desk partition's orders and fills; the position is the net signed effective executed quantity. */
  orders: TableFiles;
  fills: TableFiles;
  /** Daily returns used as scenarios, most recent first (default 250). */
  lookbackDays?: number;
  threads?: number;
}

/** Scenario P&L of one desk: the desk's current positions revalued with each historical daily return. */
export interface DeskScenarios {
  desk: string;
  positions: number;
  gross_exposure: number;
  net_exposure: number;
  /** [scenario date, P&L in currency]; positive = gain. */
  scenarios: Array<[string, number]>;
  /** Symbols held without a close in the prices file (valued at zero). */
  unpriced_symbols: string[];
}

export interface RiskPartial {
  kind: 'risk-partial';
  version: 1;
  lookback_days: number;
  desks: DeskScenarios[];
}

export interface RiskLevel {
  confidence: number;
  /** Loss quantile (positive = loss) of the scenario P&L, linear interpolation. */
  historical_var: number | null;
  /** Mean loss at or beyond the historical VaR. */
  historical_es: number | null;
  /** −μ + σ·z_c with μ, σ the scenario P&L mean and sample standard deviation. */
  parametric_var: number | null;
  /** −μ + σ·φ(z_c)/(1−c). */
  parametric_es: number | null;
}

export interface RiskFigures {
  /** null for the portfolio of all desks. */
  desk: string | null;
  positions: number;
  gross_exposure: number;
  net_exposure: number;
  scenarios: number;
  mean_pnl: number | null;
  stdev_pnl: number | null;
  levels: RiskLevel[];
}

export interface RiskReport {
  lookback_days: number;
  by_desk: RiskFigures[];
  total: RiskFigures;
}

/**
 * Scenario P&L per desk for one partition (historical simulation, 1-day horizon): positions from
 * the effective fills, valued at the latest close, times each of the last `lookbackDays` daily
 * simple returns per symbol. VaR/ES are not additive, so partials carry the scenario vectors and
 * `mergeRiskPartials` sums them per date before taking quantiles.
 */
export async function runRisk(input: RiskInput): Promise<RiskPartial> {
  const lookback = input.lookbackDays ?? 250;
  if (!Number.isInteger(lookback) || lookback < 2) throw new InvalidAnalyticsOptionsError(`lookbackDays must be an integer >= 2, got ${lookback}`);
  return withInputs(
    [
      { table: 'prices', path: input.prices },
      { table: 'orders', path: input.orders },
      { table: 'fills', path: input.fills },
    ],
    async (db) => {
      const prices = await tableSource(db, 'prices', input.prices);
      const orders = await tableSource(db, 'orders', input.orders);
      const fills = await tableSource(db, 'fills', input.fills);
      await db.exec(`
        CREATE TEMP TABLE o AS SELECT * FROM ${orders};
        CREATE TEMP TABLE f_all AS SELECT * FROM ${fills} WHERE order_id IN (SELECT order_id FROM o);
        CREATE TEMP TABLE pos AS
          SELECT o.desk, o.symbol, sum(CASE WHEN o.side = 'BUY' THEN f.last_qty ELSE -f.last_qty END) AS qty
          FROM f_all f JOIN o USING (order_id)
          WHERE f.exec_type <> 'BUST' AND NOT EXISTS (SELECT 1 FROM f_all r WHERE r.ref_fill_id = f.fill_id AND r.exec_type IN ('BUST', 'CORRECT'))
          GROUP BY ALL HAVING sum(CASE WHEN o.side = 'BUY' THEN f.last_qty ELSE -f.last_qty END) <> 0;
        CREATE TEMP TABLE px AS SELECT * FROM ${prices} WHERE symbol IN (SELECT symbol FROM pos);
        CREATE TEMP TABLE last_close AS SELECT symbol, arg_max(close, date) AS close FROM px GROUP BY symbol;
        CREATE TEMP TABLE rets AS
          SELECT symbol, date, close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS r FROM px;
        CREATE TEMP TABLE scen_dates AS
          SELECT DISTINCT date FROM rets WHERE r IS NOT NULL ORDER BY date DESC LIMIT ${lookback};
        CREATE TEMP TABLE exposure AS
          SELECT p.desk, p.symbol, p.qty * coalesce(c.close, 0) AS value, c.close IS NULL AS unpriced FROM pos p LEFT JOIN last_close c USING (symbol);
      `);
      const desks = await db.all<{ desk: string; positions: number; gross: number; net: number; unpriced: string[] }>(`
        SELECT desk, count(*) AS positions, sum(abs(value)) AS gross, sum(value) AS net,
               coalesce(list(symbol ORDER BY symbol) FILTER (unpriced), []) AS unpriced
        FROM exposure GROUP BY desk ORDER BY desk`);
      // A symbol without a return on a scenario date contributes zero for that date.
      const scen = await db.all<{ desk: string; scenarios: Array<{ date: string; pnl: number }> }>(`
        WITH pnl AS (
          SELECT e.desk, d.date, sum(e.value * coalesce(r.r, 0)) AS pnl
          FROM exposure e CROSS JOIN scen_dates d LEFT JOIN rets r ON r.symbol = e.symbol AND r.date = d.date
          GROUP BY e.desk, d.date
        )
        SELECT desk, list({'date': strftime(date, '%Y-%m-%d'), 'pnl': pnl} ORDER BY date) AS scenarios FROM pnl GROUP BY desk`);
      const byDesk = new Map(scen.map((s) => [s.desk, s.scenarios]));
      return {
        kind: 'risk-partial',
        version: 1,
        lookback_days: lookback,
        desks: desks.map((d) => ({
          desk: d.desk,
          positions: d.positions,
          gross_exposure: d.gross,
          net_exposure: d.net,
          scenarios: (byDesk.get(d.desk) ?? []).map((s) => [s.date, s.pnl] as [string, number]),
          unpriced_symbols: d.unpriced,
        })),
      };
    },
    input.threads,
  );
}

/**
 * Sums scenario P&L per desk (and across desks for the portfolio) by scenario date, then computes
 * historical and parametric VaR/ES at each confidence level. Losses are positive.
 */
export function mergeRiskPartials(parts: RiskPartial[], options: { confidence?: number[] } = {}): RiskReport {
  if (parts.length === 0) throw new IncompatiblePartialsError('no risk partials to merge');
  const confidence = options.confidence ?? [0.95, 0.99];
  for (const c of confidence) if (!(c > 0 && c < 1)) throw new InvalidAnalyticsOptionsError(`confidence must be in (0,1), got ${c}`);
  const lookback = parts[0].lookback_days;
  for (const p of parts) {
    if (p.kind !== 'risk-partial' || p.version !== 1) throw new IncompatiblePartialsError('not a version 1 risk partial');
    if (p.lookback_days !== lookback) throw new IncompatiblePartialsError(`lookback differs: ${lookback} vs ${p.lookback_days}`);
  }
  const desks = new Map<string, { positions: number; gross: number; net: number; pnl: Map<string, number> }>();
  const total = { positions: 0, gross: 0, net: 0, pnl: new Map<string, number>() };
  for (const p of parts) {
    for (const d of p.desks) {
      const acc = desks.get(d.desk) ?? { positions: 0, gross: 0, net: 0, pnl: new Map<string, number>() };
      acc.positions += d.positions;
      acc.gross += d.gross_exposure;
      acc.net += d.net_exposure;
      total.positions += d.positions;
      total.gross += d.gross_exposure;
      total.net += d.net_exposure;
      for (const [date, pnl] of d.scenarios) {
        acc.pnl.set(date, (acc.pnl.get(date) ?? 0) + pnl);
        total.pnl.set(date, (total.pnl.get(date) ?? 0) + pnl);
      }
      desks.set(d.desk, acc);
    }
  }
  const figures = (desk: string | null, a: typeof total): RiskFigures => ({
    desk,
    positions: a.positions,
    gross_exposure: a.gross,
    net_exposure: a.net,
    ...riskOfPnl([...a.pnl.values()], confidence),
  });
  return {
    lookback_days: lookback,
    by_desk: [...desks.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([desk, a]) => figures(desk, a)),
    total: figures(null, total),
  };
}

/** VaR/ES of a P&L vector (positive = gain); losses reported positive. */
export function riskOfPnl(pnl: number[], confidence: number[]): { scenarios: number; mean_pnl: number | null; stdev_pnl: number | null; levels: RiskLevel[] } {
  const n = pnl.length;
  const losses = pnl.map((x) => -x).sort((a, b) => a - b);
  const mean = n > 0 ? pnl.reduce((a, b) => a + b, 0) / n : null;
  const sd = n > 1 && mean !== null ? Math.sqrt(pnl.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : null;
  const levels = confidence.map((c): RiskLevel => {
    const varH = n > 0 ? quantileLinear(losses, c) : null;
    const tail = varH === null ? [] : losses.filter((l) => l >= varH);
    const z = normalQuantile(c);
    return {
      confidence: c,
      historical_var: varH,
      historical_es: tail.length > 0 ? tail.reduce((a, b) => a + b, 0) / tail.length : null,
      parametric_var: mean === null || sd === null ? null : -mean + sd * z,
      parametric_es: mean === null || sd === null ? null : -mean + (sd * normalDensity(z)) / (1 - c),
    };
  });
  return { scenarios: n, mean_pnl: mean, stdev_pnl: sd, levels };
}

/** numpy's default ('linear') percentile of an ascending array. */
function quantileLinear(sorted: number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}
