import type { SectionKind } from './types/report.types.js';

/*
 * A report document's sections (keyed by step; see ReportDocument) as GraphQL's typed sections.
 * The step's analytic, from its pipeline's definition, says what a section holds; a section whose
 * pipeline or analytic is unknown here is recognised by its shape; one that is neither is untyped
 * (its data as JSON). The analytics' snake_case figures become camelCase fields.
 */

/** A typed section as the schema's section types read it: `kind` picks the type. */
export type SectionValue = { kind: SectionKind; step: string; analytic: string | null } & Record<string, unknown>;

const ANALYTIC_KINDS: Record<string, SectionKind> = {
  tca: 'tca',
  'execution-report': 'execution',
  risk: 'risk',
  performance: 'performance',
  backtest: 'backtest',
};

/** `arrival_slippage_bps` -> `arrivalSlippageBps`, for every key of an object (not deeper). */
export function camelKeys<T = Record<string, unknown>>(value: unknown): T {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(isObject(value) ? value : {})) out[key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v;
  return out as T;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a section looks like it holds, when its analytic does not say. */
function kindByShape(data: unknown): SectionKind {
  if (Array.isArray(data)) {
    const first: unknown = data[0];
    if (isObject(first) && isObject(first['params']) && isObject(first['metrics'])) return 'backtest';
    if (isObject(first) && typeof first['portfolio'] === 'string' && isObject(first['metrics'])) return 'performance';
    return 'untyped';
  }
  if (!isObject(data) || !isObject(data['total'])) return 'untyped';
  if (Array.isArray(data['by_desk'])) return 'risk';
  if ('markout_seconds' in data) return 'tca';
  if ('fill_rate_qty' in data['total']) return 'execution';
  return 'untyped';
}

/** Roll-ups (`by: { broker: [...], venue: [...] }`) as `[{ dimension, groups: [{ key, metrics }] }]`. */
function rollups(by: unknown, metrics: (group: Record<string, unknown>) => unknown = camelKeys): Array<{ dimension: string; groups: Array<{ key: string | null; metrics: unknown }> }> {
  if (!isObject(by)) return [];
  return Object.entries(by)
    .filter((entry): entry is [string, unknown[]] => Array.isArray(entry[1]))
    .map(([dimension, groups]) => ({
      dimension,
      groups: groups.filter(isObject).map((g) => ({ key: typeof g['key'] === 'string' ? g['key'] : null, metrics: metrics(g) })),
    }));
}

/** TCA figures with each markout horizon's `realized_spread_<h>s_bps` / `price_impact_<h>s_bps` as `markouts`, in `horizons` order. */
function tcaMetrics(horizons: readonly number[]): (value: unknown) => Record<string, unknown> {
  return (value) => {
    const figures = isObject(value) ? value : {};
    const figure = (key: string): number | null => (typeof figures[key] === 'number' ? figures[key] : null);
    return {
      ...camelKeys(figures),
      markouts: horizons.map((h) => ({ horizonSeconds: h, realizedSpreadBps: figure(`realized_spread_${h}s_bps`), priceImpactBps: figure(`price_impact_${h}s_bps`) })),
    };
  };
}

function riskFigures(value: unknown): Record<string, unknown> {
  const figures = camelKeys(value);
  return { ...figures, levels: Array.isArray(figures['levels']) ? figures['levels'].map((l) => camelKeys(l)) : [] };
}

function typed(kind: SectionKind, step: string, analytic: string | null, data: unknown): SectionValue | undefined {
  const base = { step, analytic };
  switch (kind) {
    case 'tca':
      if (!isObject(data) || !isObject(data['total'])) return undefined;
    {
      // Reports before several horizons carry only markout_seconds (and no per-horizon keys).
      const horizons = Array.isArray(data['markout_horizons_seconds']) ? data['markout_horizons_seconds'].filter((h): h is number => typeof h === 'number') : [];
      const metrics = tcaMetrics(horizons);
      return { kind, ...base, markoutSeconds: data['markout_seconds'], markoutHorizonsSeconds: horizons, total: metrics(data['total']), rollups: rollups(data['by'], metrics) };
    }
    case 'execution':
      if (!isObject(data) || !isObject(data['total'])) return undefined;
      return { kind, ...base, total: camelKeys(data['total']), rollups: rollups(data['by']) };
    case 'risk':
      if (!isObject(data) || !isObject(data['total']) || !Array.isArray(data['by_desk'])) return undefined;
      return { kind, ...base, lookbackDays: data['lookback_days'], total: riskFigures(data['total']), byDesk: data['by_desk'].map(riskFigures) };
    case 'performance':
      if (!Array.isArray(data) || !data.every((p) => isObject(p) && isObject(p['metrics']))) return undefined;
      return {
        kind,
        ...base,
        portfolios: data.map((p: Record<string, unknown>, i) => ({
          rank: i + 1,
          portfolio: p['portfolio'],
          metrics: camelKeys(p['metrics']),
          // A result from before steps declared periods has its one (daily) period only.
          byPeriod: isObject(p['by_period']) ? Object.values(p['by_period']).map((m) => camelKeys(m)) : [camelKeys(p['metrics'])],
        })),
      };
    case 'backtest':
      if (!Array.isArray(data) || !data.every((r) => isObject(r) && isObject(r['params']) && isObject(r['metrics']))) return undefined;
      return {
        kind,
        ...base,
        ranking: data.map((r: Record<string, unknown>, i) => ({ ...r, rank: typeof r['rank'] === 'number' ? r['rank'] : i + 1, metrics: camelKeys(r['metrics']) })),
      };
    case 'untyped':
      return undefined;
  }
}

/** What a section holds: its analytic's kind, or by its shape when the analytic is not known (null). */
export function sectionKind(analytic: string | null, data: unknown): SectionKind {
  return analytic !== null ? (ANALYTIC_KINDS[analytic] ?? 'untyped') : kindByShape(data);
}

/**
 * The typed sections of a report document, in the document's order. `analyticOf` names the
 * analytic of a step of the report's pipeline (undefined when the pipeline or step is unknown).
 */
export function reportSections(document: unknown, analyticOf: (step: string) => string | undefined): SectionValue[] {
  const sections = isObject(document) && isObject(document['sections']) ? document['sections'] : {};
  return Object.entries(sections).map(([step, data]) => {
    const analytic = analyticOf(step) ?? null;
    const kind = sectionKind(analytic, data);
    return typed(kind, step, analytic, data) ?? { kind: 'untyped', step, analytic, data };
  });
}

/** A report's headline figures, in order: numbers as `value`, texts as `text`. */
export function headlineFigures(headline: Record<string, number | string | null>): Array<{ name: string; value: number | null; text: string | null }> {
  return Object.entries(headline).map(([name, v]) => ({ name, value: typeof v === 'number' ? v : null, text: typeof v === 'string' ? v : null }));
}
