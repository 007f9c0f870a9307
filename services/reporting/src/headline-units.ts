/**
 * The unit of a report's headline figure. The report document keeps bare numbers (its JSON contract:
 * fractions as fractions, money as plain numbers); the unit is what a person reading the figure
 * needs beside it.
 */
export type HeadlineUnit =
  /** Basis points (1/100 of a percent); positive = cost, as in the TCA section. */
  | { kind: 'bps' }
  /** A fraction (0.926) shown as a percentage (92.60 %). */
  | { kind: 'percent' }
  /** An amount of money in the data's own currency: the landed files carry prices, not a currency code. */
  | { kind: 'currency' }
  /** A count of things, named in the singular: `1 order`, `12 orders`. */
  | { kind: 'count'; of: string }
  /** A dimensionless ratio (Sharpe), with what it is relative to. */
  | { kind: 'ratio'; note: string }
  /** Not a number: a name or a parameter set. */
  | { kind: 'text' };

const bps: HeadlineUnit = { kind: 'bps' };
const percent: HeadlineUnit = { kind: 'percent' };
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
  // Execution report
  fill_rate_qty: percent,
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
  best_annual_return: percent,
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

const grouped = (digits: number) => new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const WHOLE = grouped(0);
const TWO = grouped(2);
const FOUR = grouped(4);

/**
 * One headline figure as a person reads it, unit included: `8.63 bps`, `92.60 %`,
 * `176,614,486 ccy`, `1 order`, `12 orders`, `1.2345 (annualised)`; `n/a` for an undefined figure (null).
 * A figure of unknown unit is shown as it is. For terminals and messages; the report document
 * and the API keep the bare numbers.
 */
export function formatHeadlineFigure(name: string, value: number | string | null): string {
  if (value === null) return 'n/a';
  if (typeof value === 'string') return value;
  const unit = headlineUnit(name);
  switch (unit?.kind) {
    case 'bps':
      return `${TWO.format(value)} bps`;
    case 'percent':
      return `${TWO.format(value * 100)} %`;
    case 'currency':
      return `${WHOLE.format(value)} ccy`;
    case 'count':
      return `${WHOLE.format(value)} ${unit.of}${value === 1 ? '' : 's'}`;
    case 'ratio':
      return `${FOUR.format(value)} (${unit.note})`;
    case 'text':
    case undefined:
      return String(value);
  }
}
