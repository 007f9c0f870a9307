import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlString, withDuckDb } from './duckdb.js';
import {
  computeMetrics, generateBusinessDay, InputDataError, InvalidAnalyticsOptionsError, runBacktest, runExecutionReport, runRisk, runTca,
  TCA_DIMENSIONS, type TableName,
} from './index.js';
import { tableSource } from './source.js';
import { ORDERS } from './testing/fixture.js';

/*
 * A table given as several files must read exactly like the same rows in one file: every analytic
 * is run on a generated day's single files and on the same tables each split into a CSV part and a
 * Parquet part, and the results must be deep-equal.
 */

let dir: string;
/** The generated day's single file per table. */
const whole = {} as Record<TableName, string>;
/** The same tables, each as [first half as CSV, second half as Parquet]. */
const parts = {} as Record<TableName, [string, string]>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'multi-file-'));
  const { files } = await generateBusinessDay({
    outDir: join(dir, 'day'), businessDate: '2024-03-15', seed: 11, desks: ['EQ1'], symbols: 3, ordersPerDesk: 40,
    quotesPerSymbol: 300, historyDays: 40, format: 'csv',
  });
  await mkdir(join(dir, 'parts'));
  for (const f of files) {
    whole[f.table] = f.path;
    parts[f.table] = await splitCsvAndParquet(f.path, join(dir, 'parts', f.table));
  }
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Writes the first half of a CSV's rows as `<base>-a.csv` and the second half as `<base>-b.parquet`
 * (through DuckDB's own CSV type detection, so the Parquet column types are not the schema's: BIGINT
 * quantities and the like, which the reader must cast).
 */
async function splitCsvAndParquet(path: string, base: string): Promise<[string, string]> {
  const [header, ...rows] = (await readFile(path, 'utf8')).trimEnd().split('\n');
  const half = Math.ceil(rows.length / 2);
  const a = `${base}-a.csv`;
  const bCsv = `${base}-b-source.csv`;
  const b = `${base}-b.parquet`;
  await writeFile(a, [header, ...rows.slice(0, half)].join('\n') + '\n');
  await writeFile(bCsv, [header, ...rows.slice(half)].join('\n') + '\n');
  await withDuckDb((db) => db.exec(`COPY (SELECT * FROM read_csv(${sqlString(bCsv)})) TO ${sqlString(b)} (FORMAT parquet)`));
  return [a, b];
}

describe('a table split over a CSV file and a Parquet file', () => {
  it('reads as the union of both files, typed like one file', async () => {
    const counts = await withDuckDb(async (db) => {
      const one = await tableSource(db, 'fills', whole.fills);
      const two = await tableSource(db, 'fills', parts.fills);
      const sameAsList = await tableSource(db, 'fills', [whole.fills]);
      return db.one<{ one: number; two: number; listed: number; diff: number }>(`
        SELECT (SELECT count(*) FROM ${one}) AS one, (SELECT count(*) FROM ${two}) AS two, (SELECT count(*) FROM ${sameAsList}) AS listed,
               (SELECT count(*) FROM ((FROM ${one} EXCEPT ALL FROM ${two}) UNION ALL (FROM ${two} EXCEPT ALL FROM ${one}))) AS diff`);
    });
    expect(counts.one).toBeGreaterThan(10);
    expect(counts).toEqual({ one: counts.one, two: counts.one, listed: counts.one, diff: 0 });
  });

  it('gives exactly the same TCA partial as the single files', async () => {
    const options = { by: [...TCA_DIMENSIONS], markoutSeconds: 30, includeOrders: true, threads: 1 };
    const single = await runTca({ orders: whole.orders, fills: whole.fills, quotes: whole.quotes, trades: whole.trades, ...options });
    const split = await runTca({ orders: parts.orders, fills: parts.fills, quotes: parts.quotes, trades: parts.trades, ...options });
    expect(Number(single.groups[0]?.sums['fills'])).toBeGreaterThan(10);
    expect(split).toEqual(single);
  });

  it('gives exactly the same execution report partial as the single files', async () => {
    const options = { by: [...TCA_DIMENSIONS], includeOrders: true, threads: 1 };
    const single = await runExecutionReport({ orders: whole.orders, fills: whole.fills, ...options });
    const split = await runExecutionReport({ orders: parts.orders, fills: parts.fills, ...options });
    expect(single.orders?.length).toBe(40);
    expect(split).toEqual(single);
  });

  it('gives exactly the same risk partial as the single files', async () => {
    const single = await runRisk({ prices: whole.prices, orders: whole.orders, fills: whole.fills, lookbackDays: 30, threads: 1 });
    const split = await runRisk({ prices: parts.prices, orders: parts.orders, fills: parts.fills, lookbackDays: 30, threads: 1 });
    expect(single.desks[0]?.scenarios.length).toBe(30);
    expect(split).toEqual(single);
  });

  it('gives exactly the same backtest as the single file', async () => {
    const params = { fast: 3, slow: 8, costBps: 5, threads: 1 };
    const single = await runBacktest({ prices: whole.prices, ...params });
    expect(await runBacktest({ prices: parts.prices, ...params })).toEqual(single);
  });
});

describe('problems in a later file', () => {
  it('names the second file, its line and column for a bad CSV value', async () => {
    const bad = join(dir, 'orders-bad.csv');
    // Line 3 (the second data row) has a non-numeric order_qty.
    await writeFile(bad, ORDERS.replace('O2,D1,T2,ABC,SELL,1000,', 'O2,D1,T2,ABC,SELL,lots,'));
    const error = await runTca({ orders: [parts.orders[0], bad], fills: parts.fills, quotes: parts.quotes }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputDataError);
    expect(error).toMatchObject({ file: bad, line: 3, column: 'order_qty' });
    expect((error as Error).message).toBe(`${bad}:3 column order_qty: not a valid DOUBLE`);
  });

  it('names the second file, its row and column for a bad Parquet value', async () => {
    // Three real fills, the second with a price that is not a number, in a Parquet file of strings.
    const [header, ...rows] = (await readFile(parts.fills[0], 'utf8')).trimEnd().split('\n');
    const priceAt = header.split(',').indexOf('last_px');
    const second = rows[1].split(',').map((v, i) => (i === priceAt ? 'n/a' : v)).join(',');
    const source = join(dir, 'fills-bad-source.csv');
    await writeFile(source, [header, rows[0], second, rows[2]].join('\n') + '\n');
    const bad = join(dir, 'fills-bad.parquet');
    await withDuckDb((db) => db.exec(`COPY (SELECT * FROM read_csv(${sqlString(source)}, all_varchar = true)) TO ${sqlString(bad)} (FORMAT parquet)`));
    const error = await runExecutionReport({ orders: parts.orders, fills: [parts.fills[0], bad] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputDataError);
    expect(error).toMatchObject({ file: bad, line: 2, column: 'last_px' });
  });

  it('names the second file for a missing required column', async () => {
    const bad = join(dir, 'prices-no-close.csv');
    await writeFile(bad, 'date,symbol,open,high,low,volume\n2024-03-15,ABC,1,1,1,1\n');
    const error = await runRisk({ prices: [parts.prices[0], bad], orders: parts.orders, fills: parts.fills }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputDataError);
    expect(error).toMatchObject({ file: bad, line: 1, column: 'close' });
  });
});

describe('an empty list of files', () => {
  it('is refused naming the table', async () => {
    const error = await runTca({ orders: whole.orders, fills: [], quotes: whole.quotes }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidAnalyticsOptionsError);
    expect((error as Error).message).toBe('no fills files given: a table needs at least one file (an empty list was passed)');
    await expect(runBacktest({ prices: [], fast: 2, slow: 4, costBps: 0 })).rejects.toThrow('no prices files given');
    await expect(computeMetrics({ returnsPath: [] })).rejects.toBeInstanceOf(InvalidAnalyticsOptionsError);
  });
});

describe('a return series split over several files', () => {
  const rows = ['2024-01-02,0.01', '2024-01-03,-0.02', '2024-01-04,', '2024-01-05,0.015', '2024-01-08,0.003', '2024-01-09,-0.007'];
  const write = async (name: string, lines: string[]): Promise<string> => {
    const path = join(dir, `${name}.csv`);
    await writeFile(path, ['date,return', ...lines].join('\n') + '\n');
    return path;
  };

  it('gives the same metrics as one file', async () => {
    const one = await write('ret-whole', rows);
    const split = [await write('ret-a', rows.slice(0, 4)), await write('ret-b', rows.slice(4))];
    const bench = await write('bench-whole', rows.map((r) => r.replace(/,$/, ',0.001')));
    const expected = await computeMetrics({ returnsPath: one, benchmarkPath: bench });
    expect(expected.observations).toBe(5);
    expect(await computeMetrics({ returnsPath: split, benchmarkPath: [bench] })).toEqual(expected);
  });

  it('reports a date repeated in the second file at that file, line and column', async () => {
    const a = await write('dup-a', rows.slice(0, 3));
    const b = await write('dup-b', [rows[4], rows[1].replace('-0.02', '0.5')]);
    const error = await computeMetrics({ returnsPath: [a, b] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputDataError);
    expect(error).toMatchObject({ file: b, line: 3, column: 'date' });
    expect((error as Error).message).toBe(`${b}:3 column date: duplicate date 2024-01-03`);
  });
});
