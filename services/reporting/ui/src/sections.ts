/*
 * A report document's sections (keyed by step, each merged by its analytic's section in
 * services/reporting/src/sections.ts) turned into chart specifications. The section's analytic is
 * recognised by its shape, so a user pipeline that runs a built-in analytic under another step name
 * is drawn too; anything else is shown as data.
 */

export interface ChartSpec {
  title: string;
  /** What the values are in, for the axis. */
  unit: string;
  labels: string[];
  datasets: Array<{ label: string; data: Array<number | null> }>;
  /** Bars along the y axis (long category lists). */
  horizontal?: boolean;
}

export type SectionKind = 'tca' | 'execution' | 'risk' | 'performance' | 'backtest' | 'other';

export interface SectionView {
  step: string;
  kind: SectionKind;
  charts: ChartSpec[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const pct = (v: unknown): number | null => {
  const n = num(v);
  return n === null ? null : Math.round(n * 10_000) / 100;
};

export function sectionKind(section: unknown): SectionKind {
  if (isObj(section)) {
    if ('markout_seconds' in section && isObj(section['by'])) return 'tca';
    if (isObj(section['total']) && 'fill_rate_qty' in (section['total'] as Obj) && isObj(section['by'])) return 'execution';
    if (Array.isArray(section['by_desk']) && isObj(section['total'])) return 'risk';
  }
  if (Array.isArray(section) && section.length > 0 && section.every(isObj)) {
    if (section.every((s) => typeof s['portfolio'] === 'string' && isObj(s['metrics']))) return 'performance';
    if (section.every((s) => typeof s['rank'] === 'number' && isObj(s['params']) && isObj(s['metrics']))) return 'backtest';
  }
  return 'other';
}

/** The roll-ups a TCA or execution section has, in the order people read them. */
const DIMENSIONS = ['broker', 'venue', 'algo', 'desk'];

function groups(section: Obj, dimension: string): Obj[] {
  const by = section['by'] as Obj;
  const list = by[dimension];
  return Array.isArray(list) ? list.filter((g): g is Obj => isObj(g) && g['key'] !== null && g['key'] !== undefined) : [];
}

function tcaCharts(section: Obj): ChartSpec[] {
  const metrics: Array<[string, string]> = [
    ['arrival_slippage_bps', 'arrival slippage'],
    ['implementation_shortfall_bps', 'implementation shortfall'],
    ['commission_bps', 'commission'],
    ['fees_bps', 'fees'],
  ];
  const charts: ChartSpec[] = DIMENSIONS.filter((d) => groups(section, d).length > 0).map((d) => {
    const rows = groups(section, d);
    return {
      title: `TCA cost by ${d}`,
      unit: 'bps (positive = cost)',
      labels: rows.map((r) => String(r['key'])),
      datasets: metrics.map(([key, label]) => ({ label, data: rows.map((r) => num(r[key])) })),
    };
  });
  // How a desk compares brokers: Kissell's RPM (share of the interval's volume traded at a worse price) and price improvement.
  const brokers = groups(section, 'broker').filter((r) => num(r['rpm']) !== null);
  if (brokers.length > 0) {
    charts.push({
      title: 'Broker performance: RPM',
      unit: '% of interval volume at a worse price (above 50 = better than average)',
      labels: brokers.map((r) => String(r['key'])),
      datasets: [{ label: 'RPM', data: brokers.map((r) => percent(num(r['rpm']))) }],
    });
  }
  return charts;
}

function percent(fraction: number | null): number | null {
  return fraction === null ? null : Math.round(fraction * 1e4) / 100;
}

function executionCharts(section: Obj): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const total = section['total'] as Obj;
  charts.push({
    title: 'Order outcomes',
    unit: 'orders',
    labels: ['filled', 'partially filled', 'cancelled', 'rejected'],
    datasets: [{ label: 'orders', data: [num(total['filled_orders']), num(total['partially_filled_orders']), num(total['cancelled_orders']), num(total['rejected_orders'])] }],
  });
  for (const d of DIMENSIONS) {
    // Venue groups count fills, not orders: their order-level rates are null, so only dimensions with rates chart.
    const rows = groups(section, d).filter((r) => num(r['fill_rate_qty']) !== null);
    if (rows.length === 0) continue;
    charts.push({
      title: `Fill rates by ${d}`,
      unit: '%',
      labels: rows.map((r) => String(r['key'])),
      datasets: [
        { label: 'quantity filled', data: rows.map((r) => pct(r['fill_rate_qty'])) },
        { label: 'orders completely filled', data: rows.map((r) => pct(r['fill_rate_count'])) },
      ],
    });
  }
  return charts;
}

function riskCharts(section: Obj): ChartSpec[] {
  const figures = [...(section['by_desk'] as unknown[]).filter(isObj), section['total'] as Obj];
  const level = (f: Obj, confidence: number): Obj | undefined =>
    (Array.isArray(f['levels']) ? (f['levels'] as unknown[]) : []).filter(isObj).find((l) => l['confidence'] === confidence);
  const labels = figures.map((f) => (typeof f['desk'] === 'string' ? f['desk'] : 'firm'));
  const series = (confidence: number, key: string, label: string) => ({ label, data: figures.map((f) => num(level(f, confidence)?.[key])) });
  return [
    {
      title: 'VaR and ES by desk (historical, 1 day)',
      unit: 'currency (positive = loss)',
      labels,
      datasets: [series(0.95, 'historical_var', 'VaR 95%'), series(0.95, 'historical_es', 'ES 95%'), series(0.99, 'historical_var', 'VaR 99%'), series(0.99, 'historical_es', 'ES 99%')],
    },
    {
      title: 'VaR and ES by desk (parametric, 1 day)',
      unit: 'currency (positive = loss)',
      labels,
      datasets: [series(0.99, 'parametric_var', 'VaR 99%'), series(0.99, 'parametric_es', 'ES 99%')],
    },
  ];
}

function performanceCharts(section: Obj[]): ChartSpec[] {
  const labels = section.map((p) => String(p['portfolio']));
  const metric = (key: string, scale: (v: unknown) => number | null) => section.map((p) => scale((p['metrics'] as Obj)[key]));
  return [
    {
      title: 'Performance and drawdown by portfolio',
      unit: '%',
      labels,
      datasets: [
        { label: 'annual return', data: metric('annual_return', pct) },
        { label: 'annual volatility', data: metric('annual_volatility', pct) },
        { label: 'max drawdown', data: metric('max_drawdown', pct) },
      ],
    },
    { title: 'Risk-adjusted return by portfolio', unit: 'ratio', labels, datasets: [{ label: 'Sharpe', data: metric('sharpe_ratio', num) }, { label: 'Sortino', data: metric('sortino_ratio', num) }] },
    ...periodCharts(section, labels),
  ];
}

/** Sharpe ratio over each period the step declared (the worker's `by_period`), when it declared more than one. */
function periodCharts(section: Obj[], labels: string[]): ChartSpec[] {
  const byPeriod = (p: Obj): Obj => (isObj(p['by_period']) ? p['by_period'] : {});
  const periods = [...new Set(section.flatMap((p) => Object.keys(byPeriod(p))))];
  if (periods.length < 2) return [];
  const sharpe = (p: Obj, period: string): number | null => {
    const m = byPeriod(p)[period];
    return isObj(m) ? num(m['sharpe_ratio']) : null;
  };
  return [{ title: 'Sharpe ratio by period', unit: 'ratio (annualised)', labels, datasets: periods.map((period) => ({ label: period, data: section.map((p) => sharpe(p, period)) })) }];
}

function backtestCharts(section: Obj[]): ChartSpec[] {
  const ranked = [...section].sort((a, b) => Number(a['rank']) - Number(b['rank'])).slice(0, 25);
  const labels = ranked.map((r) => `#${String(r['rank'])} ${Object.entries(r['params'] as Obj).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
  const metric = (key: string, scale: (v: unknown) => number | null) => ranked.map((r) => scale((r['metrics'] as Obj)[key]));
  return [
    { title: 'Backtest ranking (best Sharpe first)', unit: 'Sharpe ratio', labels, datasets: [{ label: 'Sharpe', data: metric('sharpe_ratio', num) }], horizontal: true },
    {
      title: 'Backtest return and drawdown',
      unit: '%',
      labels,
      datasets: [
        { label: 'annual return', data: metric('annual_return', pct) },
        { label: 'max drawdown', data: metric('max_drawdown', pct) },
      ],
      horizontal: true,
    },
  ];
}

/** The charts of every section of a report document, in the document's order. */
export function sectionViews(sections: Record<string, unknown>): SectionView[] {
  return Object.entries(sections).map(([step, section]) => {
    const kind = sectionKind(section);
    switch (kind) {
      case 'tca':
        return { step, kind, charts: tcaCharts(section as Obj) };
      case 'execution':
        return { step, kind, charts: executionCharts(section as Obj) };
      case 'risk':
        return { step, kind, charts: riskCharts(section as Obj) };
      case 'performance':
        return { step, kind, charts: performanceCharts(section as Obj[]) };
      case 'backtest':
        return { step, kind, charts: backtestCharts(section as Obj[]) };
      case 'other':
        return { step, kind, charts: [] };
    }
  });
}
