import { mergeExecutionPartials, mergeTcaPartials, type ExecutionPartial, type ExecutionReport, type TcaPartial, type TcaReport } from '@nightshift/analytics';
import type { ReportSection } from './publish-report.js';

const round = (x: number | null, digits = 2): number | null => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

/** TCA: partials of every desk merged exactly (sums, then ratios); headline in bps, positive = cost. */
export const TCA_SECTION: ReportSection = {
  analytic: 'tca',
  merge: (partials) => mergeTcaPartials(partials as TcaPartial[]),
  headline: (merged) => {
    const r = merged as TcaReport;
    return {
      orders: r.total.orders,
      fills: r.total.fills,
      notional: round(r.total.notional, 0),
      arrival_slippage_bps: round(r.total.arrival_slippage_bps),
      interval_vwap_slippage_bps: round(r.total.interval_vwap_slippage_bps),
      implementation_shortfall_bps: round(r.total.implementation_shortfall_bps),
      commission_bps: round(r.total.commission_bps),
    };
  },
};

/** Execution report: fill rates and order outcomes over all desks; invariant breaks are headline figures. */
export const EXECUTION_SECTION: ReportSection = {
  analytic: 'execution-report',
  merge: (partials) => mergeExecutionPartials(partials as ExecutionPartial[]),
  headline: (merged) => {
    const t = (merged as ExecutionReport).total;
    return {
      fill_rate_qty: round(t.fill_rate_qty, 4),
      cancelled_orders: t.cancelled_orders,
      rejected_orders: t.rejected_orders,
      busts: t.busts,
      corrections: t.corrections,
      cum_qty_mismatches: t.cum_qty_mismatches,
      avg_px_mismatches: t.avg_px_mismatches,
    };
  },
};
