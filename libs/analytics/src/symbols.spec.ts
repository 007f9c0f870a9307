import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  filesOfSymbols, generateBusinessDay, InvalidAnalyticsOptionsError, mergeTcaPartials, runTca, symbolOfFile, tableSymbols, validateTableFile,
  type GeneratedTable, type TcaDimension,
} from './index.js';

/*
 * Market data split by symbol: which file holds which symbol, which files a desk needs, and that
 * a TCA over a desk's symbols' files is the TCA over the whole day's single file.
 */

let dir: string;
let single: GeneratedTable[];
let split: GeneratedTable[];
const DESKS = ['EQ1', 'EQ2'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'symbols-'));
  // 6 symbols, 3 per desk: EQ1 trades SYM001-SYM003, EQ2 SYM004-SYM006.
  const options = { businessDate: '2024-03-15', seed: 9, desks: DESKS, symbols: 6, symbolsPerDesk: 3, ordersPerDesk: 40, quotesPerSymbol: 300, historyDays: 5 };
  single = (await generateBusinessDay({ ...options, outDir: join(dir, 'single') })).files;
  split = (await generateBusinessDay({ ...options, outDir: join(dir, 'split'), marketFilesBySymbol: true })).files;
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const one = (files: GeneratedTable[], table: GeneratedTable['table'], desk?: string): string => files.find((f) => f.table === table && f.desk === desk)!.path;
const all = (files: GeneratedTable[], table: GeneratedTable['table']): string[] => files.filter((f) => f.table === table).map((f) => f.path);

/** Same shape and non-numbers; numbers within 1e-9 relative. */
function expectClose(actual: unknown, expected: unknown): void {
  // Numbers are collected in document order and replaced by 0, so the shapes compare exactly.
  const split = (value: unknown): { shape: unknown; numbers: number[] } => {
    const numbers: number[] = [];
    const shape: unknown = JSON.parse(JSON.stringify(value), (_k, v: unknown) => (typeof v === 'number' ? (numbers.push(v), 0) : v));
    return { shape, numbers };
  };
  const [a, b] = [split(actual), split(expected)];
  expect(a.shape).toEqual(b.shape);
  a.numbers.forEach((x, i) => {
    const y = b.numbers[i]!;
    expect(Math.abs(x - y), `${x} vs ${y}`).toBeLessThanOrEqual(1e-9 * Math.max(Math.abs(x), Math.abs(y)));
  });
}

describe('symbolOfFile', () => {
  it('reads the symbol= directory of a path or key, percent-decoded; none without one', () => {
    expect(symbolOfFile('landing/x/quotes/business_date=2024-03-15/symbol=SYM001/part-0.csv')).toBe('SYM001');
    expect(symbolOfFile('/tmp/q/symbol=BRK%2FB/part-0.parquet')).toBe('BRK/B');
    expect(symbolOfFile('C:\\data\\symbol=VOD.L\\part-0.csv')).toBe('VOD.L');
    expect(symbolOfFile('quotes/business_date=2024-03-15/part-0.csv')).toBeUndefined();
    expect(symbolOfFile('quotes/symbol=/part-0.csv')).toBeUndefined();
    // Not percent-encoding: taken as written.
    expect(symbolOfFile('q/symbol=100%/part-0.csv')).toBe('100%');
  });
});

describe('filesOfSymbols', () => {
  const files = ['q/symbol=A/part-0.csv', 'q/symbol=B/part-0.csv', 'q/late-corrections.csv', 'q/symbol=C/part-0.csv'];

  it("keeps the files of the symbols asked for and every file of several symbols, in the list's order", () => {
    expect(filesOfSymbols(files, new Set(['C', 'A']))).toEqual(['q/symbol=A/part-0.csv', 'q/late-corrections.csv', 'q/symbol=C/part-0.csv']);
    expect(filesOfSymbols(['q/all.csv'], new Set(['A']))).toEqual(['q/all.csv']);
  });

  it('keeps the first file when no symbol asked for has one, so the table still has its columns', () => {
    expect(filesOfSymbols(['q/symbol=A/part-0.csv', 'q/symbol=B/part-0.csv'], new Set(['Z']))).toEqual(['q/symbol=A/part-0.csv']);
    expect(filesOfSymbols(['q/symbol=A/part-0.csv'], new Set())).toEqual(['q/symbol=A/part-0.csv']);
    expect(filesOfSymbols([], new Set(['A']))).toEqual([]);
  });
});

describe('tableSymbols', () => {
  it("lists a desk's order symbols: its book", async () => {
    expect(await tableSymbols('orders', one(split, 'orders', 'EQ1'))).toEqual(['SYM001', 'SYM002', 'SYM003']);
    expect(await tableSymbols('orders', [one(split, 'orders', 'EQ1'), one(split, 'orders', 'EQ2')])).toEqual(['SYM001', 'SYM002', 'SYM003', 'SYM004', 'SYM005', 'SYM006']);
  });

  it('refuses a table without a symbol column', async () => {
    await expect(tableSymbols('fills', one(split, 'fills', 'EQ1'))).rejects.toThrow(new InvalidAnalyticsOptionsError('table fills has no symbol column'));
  });
});

describe('TCA over quotes and trades split by symbol', () => {
  const by: TcaDimension[] = ['broker', 'venue', 'symbol'];

  it('equals the TCA over the single files, with every symbol file and with only the desk\'s symbols', async () => {
    for (const desk of DESKS) {
      const orders = one(split, 'orders', desk);
      const fills = one(split, 'fills', desk);
      const whole = await runTca({ orders, fills, quotes: one(single, 'quotes'), trades: one(single, 'trades'), by, includeOrders: true, threads: 1 });
      const every = await runTca({ orders, fills, quotes: all(split, 'quotes'), trades: all(split, 'trades'), by, includeOrders: true, threads: 1 });
      const symbols = new Set(await tableSymbols('orders', orders));
      const own = await runTca({ orders, fills, quotes: filesOfSymbols(all(split, 'quotes'), symbols), trades: filesOfSymbols(all(split, 'trades'), symbols), by, includeOrders: true, threads: 1 });
      expect(filesOfSymbols(all(split, 'quotes'), symbols)).toHaveLength(3);
      expect(whole.groups.length).toBeGreaterThan(5);
      // Exactly: the sums are exact decimals, whatever order the rows reach DuckDB in.
      expect(every).toEqual(whole);
      expect(own).toEqual(whole);
    }
  });

  it('merged over the desks, equals the whole day over the single files', async () => {
    const parts = await Promise.all(
      DESKS.map(async (desk) => {
        const orders = one(split, 'orders', desk);
        const symbols = new Set(await tableSymbols('orders', orders));
        return runTca({ orders, fills: one(split, 'fills', desk), quotes: filesOfSymbols(all(split, 'quotes'), symbols), trades: filesOfSymbols(all(split, 'trades'), symbols), threads: 1 });
      }),
    );
    const whole = await runTca({ orders: all(single, 'orders'), fills: all(single, 'fills'), quotes: one(single, 'quotes'), trades: one(single, 'trades'), threads: 1 });
    const merged = mergeTcaPartials(parts);
    expect(merged.total.fills).toBeGreaterThan(100);
    // Within 1e-9 relative: the TWAP's time-integral of the mid is a running float sum over each symbol's
    // quotes whose last bits depend on which other symbols share the run (~1e-13 apart here).
    expectClose(merged, mergeTcaPartials([whole]));
  });
});

describe('validateTableFile of one symbol\'s file', () => {
  it('reports a row of another symbol with its line', async () => {
    const file = split.find((f) => f.table === 'quotes' && f.symbol === 'SYM002')!;
    const lines = (await readFile(file.path, 'utf8')).split('\n');
    lines[3] = lines[3]!.replace('SYM002', 'SYM004');
    const bad = join(dir, 'bad', 'symbol=SYM002', 'part-0.csv');
    await mkdir(join(dir, 'bad', 'symbol=SYM002'), { recursive: true });
    await writeFile(bad, lines.join('\n'));
    expect((await validateTableFile('quotes', bad, { symbol: 'SYM002' })).problems).toEqual([
      { file: bad, line: 4, column: 'symbol', message: "symbol must be SYM002: the file is that symbol's part (its symbol= directory)" },
    ]);
    // Without the symbol, the same file is a valid quotes file.
    expect((await validateTableFile('quotes', bad)).problems).toEqual([]);
  });
});
