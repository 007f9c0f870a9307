import { InvalidAnalyticsOptionsError } from './errors.js';
import { SCHEMAS, type TableName } from './schemas.js';
import { tableSource, type TableFiles } from './source.js';
import { withInputs } from './tca.js';

/**
 * The distinct symbols of a table's files (e.g. a desk's orders), sorted: what a partition needs
 * of market data split by symbol (`filesOfSymbols`). Reads the symbol column only. A table without
 * a symbol column is an `InvalidAnalyticsOptionsError`; bad input an `InputDataError` naming file,
 * line and column, as for every analytic.
 */
export async function tableSymbols(table: TableName, paths: TableFiles, threads = 1): Promise<string[]> {
  if (!SCHEMAS[table].columns.some((c) => c.name === 'symbol')) throw new InvalidAnalyticsOptionsError(`table ${table} has no symbol column`);
  return withInputs(
    [{ table, path: paths }],
    async (db) => {
      const rows = await db.all<{ symbol: string }>(`SELECT DISTINCT symbol FROM ${await tableSource(db, table, paths)} WHERE symbol IS NOT NULL ORDER BY symbol`);
      return rows.map((r) => r.symbol);
    },
    threads,
  );
}
