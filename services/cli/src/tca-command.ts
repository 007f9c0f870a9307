import { DEFAULT_MARKOUT_HORIZONS, mergeTcaPartials, runTca, TCA_DIMENSIONS, type TcaDimension, type TcaReport } from '@nightshift/analytics';
import { choiceList, type Command } from './command.js';
import { files, listFlag, parseFlags, requiredFiles } from './args.js';
import { CliUsageError } from './errors.js';

/**
 * `nightshift tca`: TCA over one set of files, printed as the merged report, the same JSON a
 * pipeline's merge step produces from one partition (keys in snake_case).
 */
export const tcaCommand: Command<TcaReport> = {
  name: 'tca',
  summary: 'transaction cost analysis of orders and fills against quotes (and trades)',
  usage: `nightshift tca --orders FILE --fills FILE --quotes FILE [--trades FILE] [--by broker,venue] [--markout-seconds ${DEFAULT_MARKOUT_HORIZONS.join(',')}]

  Prints the TCA report as JSON: "total" and one list per --by dimension (${TCA_DIMENSIONS.join(', ')}),
  each with arrival, interval/day VWAP and TWAP slippage, implementation shortfall and its parts,
  effective/realized spread, price impact, commission and fees in bps (positive = cost), RPM and
  price improvement. --markout-seconds lists the horizons of realized spread and price impact
  (realized_spread_<h>s_bps, ...; the first is also realized_spread_bps): 1, 5 and 30 minutes by default.
  Files are CSV (with header) or Parquet (by extension); repeat a file option to read a table split
  over several files (--fills part-0.csv --fills part-1.parquet).`,
  async run(argv) {
    const values = parseFlags(argv, {
      orders: { type: 'string', multiple: true },
      fills: { type: 'string', multiple: true },
      quotes: { type: 'string', multiple: true },
      trades: { type: 'string', multiple: true },
      by: { type: 'string' },
      'markout-seconds': { type: 'string' },
    });
    if (values['help']) return null;
    const trades = files(values, 'trades');
    const markout = listFlag(values, 'markout-seconds')?.map((item) => {
      const seconds = Number(item);
      if (!Number.isFinite(seconds)) throw new CliUsageError(`--markout-seconds must list numbers of seconds, got "${item}"`);
      return seconds;
    });
    const partial = await runTca({
      orders: requiredFiles(values, 'orders'),
      fills: requiredFiles(values, 'fills'),
      quotes: requiredFiles(values, 'quotes'),
      ...(trades.length > 0 ? { trades } : {}),
      ...(markout !== undefined ? { markoutHorizonsSeconds: markout } : {}),
      by: choiceList<TcaDimension>(values, 'by', TCA_DIMENSIONS) ?? ['broker', 'venue'],
    });
    return mergeTcaPartials([partial]);
  },
};
