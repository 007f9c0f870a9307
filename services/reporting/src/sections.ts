import { mergeTcaPartials, type TcaPartial, type TcaReport } from '@nightshift/analytics';
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
