/**
 * The unit of a report's headline figure. The figures themselves stay bare numbers (the `headline`
 * map: fractions as fractions, money as plain numbers); the unit is what a person reading the figure
 * needs beside it. The report document carries each figure's unit (`headlineUnits`, currency code
 * included), the console and the dashboard show them: this module is the one source of all three.
 */
export type HeadlineUnit =
  /** Basis points (1/100 of a percent); positive = cost, as in the TCA section. */
  | { kind: 'bps' }
  /** A fraction (0.926), shown as a percentage (92.60 %); its change is in percentage points. */
  | { kind: 'fraction' }
  /** An amount of money in `currency` (ISO 4217): the report's currency, which the landed files do not carry. */
  | { kind: 'currency'; currency?: string }
  /** A count of things, named in the singular: `1 order`, `12 orders`. */
  | { kind: 'count'; of: string }
  /** A dimensionless ratio (Sharpe), with what it is relative to. */
  | { kind: 'ratio'; note: string }
  /** Not a number: a name or a parameter set. */
  | { kind: 'text' };

/** The currency of a report's money figures when its pipeline declares none (`PipelineDefinition.currency`). */
export const DEFAULT_REPORT_CURRENCY = 'USD';

const bps: HeadlineUnit = { kind: 'bps' };
const fraction: HeadlineUnit = { kind: 'fraction' };
const currency: HeadlineUnit = { kind: 'currency' };
const text: HeadlineUnit = { kind: 'text' };
const count = (of: string): HeadlineUnit => ({ kind: 'count', of });

/**
 * The unit of every headline figure the built-in report sections produce (sections.ts), by name, and
 * of `tasks`, the headline of a report without one (a run of plain commands). A spec checks that
 * every figure of every section is here: a new figure needs its unit.
 */
export const HEADLINE_UNITS: Readonly<Record<string, HeadlineUnit>> = {
  // TCA
  orders: count('order'),
  fills: count('fill'),
  notional: currency,
  arrival_slippage_bps: bps,
  interval_vwap_slippage_bps: bps,
  implementation_shortfall_bps: bps,
  commission_bps: bps,
  rpm: fraction,
  price_improvement_bps: bps,
  // Execution report
  fill_rate_qty: fraction,
  cancelled_orders: count('order'),
  rejected_orders: count('order'),
  busts: count('fill'),
  corrections: count('fill'),
  cum_qty_mismatches: count('order'),
  avg_px_mismatches: count('order'),
  // Risk: 99% one-day figures, positive = loss
  risk_gross_exposure: currency,
  var_99_historical: currency,
  es_99_historical: currency,
  var_99_parametric: currency,
  es_99_parametric: currency,
  // Backtest sweep
  parameter_sets: count('parameter set'),
  best_parameters: text,
  best_sharpe_ratio: { kind: 'ratio', note: 'annualised' },
  best_annual_return: fraction,
  // Market performance
  portfolios: count('portfolio'),
  best_portfolio: text,
  best_portfolio_sharpe_ratio: { kind: 'ratio', note: 'annualised' },
  // A report without a section of its own
  tasks: count('task'),
};

/** The unit of a headline figure: from {@link HEADLINE_UNITS}, else from a `_bps` suffix; undefined when unknown. */
export function headlineUnit(name: string): HeadlineUnit | undefined {
  return HEADLINE_UNITS[name] ?? (name.endsWith('_bps') ? bps : undefined);
}

/**
 * The units of a report's headline figures as its document carries them: money figures with the
 * report's currency code. A figure of unknown unit has no entry (none of the built-in sections' figures).
 */
export function reportHeadlineUnits(headline: Record<string, unknown>, reportCurrency: string): Record<string, HeadlineUnit> {
  const units: Record<string, HeadlineUnit> = {};
  for (const name of Object.keys(headline)) {
    const unit = headlineUnit(name);
    if (unit) units[name] = unit.kind === 'currency' ? { kind: 'currency', currency: reportCurrency } : unit;
  }
  return units;
}

const grouped = (digits: number) => new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const WHOLE = grouped(0);
const ONE = grouped(1);
const TWO = grouped(2);
const FOUR = grouped(4);

/**
 * One figure as a person reads it, in `unit`: `8.63 bps`, `92.60 %`, `176,614,486 USD` (`ccy` when
 * the currency is not known), `1 order`, `12 orders`, `1.2345 (annualised)`; `n/a` for an undefined
 * figure (null). Without a unit the figure is shown as it is.
 */
export function formatFigure(value: number | string | null, unit: HeadlineUnit | undefined): string {
  if (value === null) return 'n/a';
  if (typeof value === 'string') return value;
  switch (unit?.kind) {
    case 'bps':
      return `${TWO.format(value)} bps`;
    case 'fraction':
      return `${TWO.format(value * 100)} %`;
    case 'currency':
      return `${WHOLE.format(value)} ${unit.currency ?? 'ccy'}`;
    case 'count':
      return `${WHOLE.format(value)} ${unit.of}${value === 1 ? '' : 's'}`;
    case 'ratio':
      return `${FOUR.format(value)} (${unit.note})`;
    case 'text':
    case undefined:
      return String(value);
  }
}

/**
 * One headline figure as a person reads it, its unit from {@link headlineUnit} (money in
 * `reportCurrency`, `ccy` when not given). For terminals, messages and the report document's
 * `headlineText`; the `headline` map keeps the bare numbers.
 */
export function formatHeadlineFigure(name: string, value: number | string | null, reportCurrency?: string): string {
  const unit = headlineUnit(name);
  return formatFigure(value, unit?.kind === 'currency' && reportCurrency !== undefined ? { kind: 'currency', currency: reportCurrency } : unit);
}

const signed = (shown: string, value: number): string => (value > 0 ? `+${shown}` : shown);

/**
 * A change of a figure, in its unit, with the relative change when there is one: `+1.22 bps
 * (+16.5 %)`, `-1.30 pp` (a fraction's change, in percentage points), `+3 orders`, `-12,000 USD`.
 * `relative` is the change over the previous figure's magnitude (null when that was 0).
 */
export function formatChange(absolute: number, relative: number | null, unit: HeadlineUnit | undefined): string {
  let shown: string;
  switch (unit?.kind) {
    case 'bps':
      shown = `${signed(TWO.format(absolute), absolute)} bps`;
      break;
    case 'fraction':
      shown = `${signed(TWO.format(absolute * 100), absolute)} pp`;
      break;
    case 'currency':
      shown = `${signed(WHOLE.format(absolute), absolute)} ${unit.currency ?? 'ccy'}`;
      break;
    case 'count':
      shown = `${signed(WHOLE.format(absolute), absolute)} ${unit.of}${Math.abs(absolute) === 1 ? '' : 's'}`;
      break;
    case 'ratio':
      shown = signed(FOUR.format(absolute), absolute);
      break;
    case 'text':
    case undefined:
      shown = signed(String(absolute), absolute);
  }
  return relative === null ? shown : `${shown} (${signed(ONE.format(relative * 100), relative)} %)`;
}
