import { ANNUALIZATION_FACTORS, computeMetrics, type PerformanceMetrics, type Periodicity } from '@nightshift/analytics';
import { type Command } from './command.js';
import { choiceFlag, files, numberFlag, parseFlags, requiredFiles } from './args.js';

const PERIODS = Object.keys(ANNUALIZATION_FACTORS) as Periodicity[];

/** `nightshift metrics`: market performance statistics of a return series, printed as JSON. */
export const metricsCommand: Command<PerformanceMetrics> = {
  name: 'metrics',
  summary: 'performance statistics of a return series (optionally against a benchmark)',
  usage: `nightshift metrics --returns FILE [--benchmark FILE] [--periods ${PERIODS.join('|')}] [--rf R] [--cutoff 0.05]

  FILE is CSV with header date,return (one row per day; an empty return is a missing day);
  repeat --returns or --benchmark to read a series split over several files.
  --periods compounds daily returns into weeks or months first (default daily); --rf is the
  risk-free return per period; --cutoff the tail probability of VaR/CVaR.
  Prints JSON with annual_return, cumulative_return, annual_volatility, sharpe_ratio,
  sortino_ratio, max_drawdown, calmar_ratio, tail_ratio, value_at_risk,
  conditional_value_at_risk (historical and parametric), alpha and beta (with --benchmark).`,
  async run(argv) {
    const values = parseFlags(argv, {
      returns: { type: 'string', multiple: true },
      benchmark: { type: 'string', multiple: true },
      periods: { type: 'string' },
      rf: { type: 'string' },
      cutoff: { type: 'string' },
    });
    if (values['help']) return null;
    const benchmark = files(values, 'benchmark');
    const periods = choiceFlag(values, 'periods', PERIODS);
    const rf = numberFlag(values, 'rf');
    const cutoff = numberFlag(values, 'cutoff');
    return computeMetrics({
      returnsPath: requiredFiles(values, 'returns'),
      ...(benchmark.length > 0 ? { benchmarkPath: benchmark } : {}),
      ...(periods !== undefined ? { periods } : {}),
      ...(rf !== undefined ? { rf } : {}),
      ...(cutoff !== undefined ? { cutoff } : {}),
    });
  },
};
