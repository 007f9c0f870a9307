import { generateBusinessDay, type GeneratedTable } from '@nightshift/analytics';
import { type Command } from './command.js';
import { choiceFlag, intFlag, listFlag, parseFlags, required } from './args.js';

/** `nightshift generate`: writes a deterministic sample business day and prints its file list. */
export const generateCommand: Command<{ files: GeneratedTable[] }> = {
  name: 'generate',
  summary: 'write a deterministic sample business day (market data, orders, fills)',
  usage: `nightshift generate --out DIR --date YYYY-MM-DD [--seed 1] [--desks D1,D2] [--format csv|parquet]
                    [--symbols 20] [--orders-per-desk 200] [--quotes-per-symbol 2000]
                    [--trades-per-symbol N] [--fills-per-order 8] [--history-days 260]

  Writes <DIR>/<table>/business_date=<date>[/desk=<desk>]/part-0.<format> for prices, quotes,
  trades, orders and fills; the same options always write the same data. Prints the files as JSON.`,
  async run(argv) {
    const values = parseFlags(argv, {
      out: { type: 'string' },
      date: { type: 'string' },
      seed: { type: 'string' },
      desks: { type: 'string' },
      format: { type: 'string' },
      symbols: { type: 'string' },
      'orders-per-desk': { type: 'string' },
      'quotes-per-symbol': { type: 'string' },
      'trades-per-symbol': { type: 'string' },
      'fills-per-order': { type: 'string' },
      'history-days': { type: 'string' },
    });
    if (values['help']) return null;
    const optionalInt = (flag: string, key: string, min: number): Record<string, number> => {
      const v = intFlag(values, flag, min);
      return v === undefined ? {} : { [key]: v };
    };
    return generateBusinessDay({
      outDir: required(values, 'out'),
      businessDate: required(values, 'date'),
      seed: intFlag(values, 'seed', Number.MIN_SAFE_INTEGER) ?? 1,
      desks: listFlag(values, 'desks') ?? ['D1', 'D2'],
      format: choiceFlag(values, 'format', ['csv', 'parquet'] as const) ?? 'csv',
      ...optionalInt('symbols', 'symbols', 1),
      ...optionalInt('orders-per-desk', 'ordersPerDesk', 1),
      ...optionalInt('quotes-per-symbol', 'quotesPerSymbol', 1),
      ...optionalInt('trades-per-symbol', 'tradesPerSymbol', 1),
      ...optionalInt('fills-per-order', 'fillsPerOrder', 1),
      ...optionalInt('history-days', 'historyDays', 1),
    });
  },
};
