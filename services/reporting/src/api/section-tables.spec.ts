import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { toParquet } from './report-exports.js';
import { flattenRow, sectionTables, toCsv, type SectionTable } from './section-tables.js';

/** A TCA section as mergeTcaPartials writes it (two brokers, the venue roll-up with its order-level null group). */
const TCA = {
  markout_seconds: 60,
  total: { orders: 3, notional: 1500.5, arrival_slippage_bps: 2.25 },
  by: {
    broker: [
      { key: 'ACME, Inc.', orders: 2, notional: 1000, arrival_slippage_bps: 1.5 },
      { key: 'GS', orders: 1, notional: 500.5, arrival_slippage_bps: null },
    ],
    venue: [{ key: null, orders: 3, notional: 0, arrival_slippage_bps: null }],
  },
};

const RISK = {
  lookback_days: 250,
  by_desk: [{ desk: 'EQ', positions: 2, gross_exposure: 100, levels: [{ confidence: 0.99, historical_var: 5 }] }],
  total: { desk: null, positions: 2, gross_exposure: 100, levels: [{ confidence: 0.95, historical_var: 3 }, { confidence: 0.99, historical_var: 5 }] },
};

describe('a section as tables', () => {
  it('flattens nested objects into dotted columns and lists into their JSON', () => {
    expect(flattenRow({ portfolio: 'p1', metrics: { sharpe_ratio: 1.5, drawdown: { max: -0.2 } }, tags: ['a', 'b'], gone: null })).toEqual({
      portfolio: 'p1',
      'metrics.sharpe_ratio': 1.5,
      'metrics.drawdown.max': -0.2,
      tags: '["a","b"]',
      gone: null,
    });
  });

  it('gives a TCA section a table per roll-up, then the total', () => {
    const tables = sectionTables('tca', TCA);
    expect(tables.map((t) => t.name)).toEqual(['by_broker', 'by_venue', 'total']);
    expect(tables[0]).toEqual({ name: 'by_broker', columns: ['key', 'orders', 'notional', 'arrival_slippage_bps'], rows: TCA.by.broker });
    expect(tables[2]!.rows).toEqual([TCA.total]);
  });

  it('gives a risk section its desks (the portfolio last, desk empty) and one row per desk and confidence', () => {
    const [byDesk, levels] = sectionTables('risk', RISK);
    expect(byDesk!.rows).toEqual([
      { desk: 'EQ', positions: 2, gross_exposure: 100 },
      { desk: null, positions: 2, gross_exposure: 100 },
    ]);
    expect(levels!.rows).toEqual([
      { desk: 'EQ', confidence: 0.99, historical_var: 5 },
      { desk: null, confidence: 0.95, historical_var: 3 },
      { desk: null, confidence: 0.99, historical_var: 5 },
    ]);
  });

  it('ranks performance and backtest rows, and reads a section of unknown analytic by its shape', () => {
    const performance = [{ portfolio: 'p2', metrics: { sharpe_ratio: 2 } }, { portfolio: 'p1', metrics: { sharpe_ratio: 1 } }];
    expect(sectionTables('performance', performance)[0]!.rows).toEqual([
      { rank: 1, portfolio: 'p2', 'metrics.sharpe_ratio': 2 },
      { rank: 2, portfolio: 'p1', 'metrics.sharpe_ratio': 1 },
    ]);
    const sweep = [{ params: { fast: 5, slow: 20 }, symbols: 2, metrics: { sharpe_ratio: 1 } }];
    expect(sectionTables(null, sweep)).toEqual([{ name: 'ranking', columns: ['rank', 'params.fast', 'params.slow', 'symbols', 'metrics.sharpe_ratio'], rows: [{ rank: 1, 'params.fast': 5, 'params.slow': 20, symbols: 2, 'metrics.sharpe_ratio': 1 }] }]);
    expect(sectionTables(null, TCA).map((t) => t.name)).toEqual(['by_broker', 'by_venue', 'total']);
    expect(sectionTables(null, [{ a: 1 }])[0]!.name).toBe('rows');
    expect(sectionTables(null, { exitCode: 0 })).toEqual([]);
  });

  it('writes CSV with a header, quoting fields that need it, nulls as empty fields', () => {
    expect(toCsv(sectionTables('tca', TCA)[0]!)).toBe('key,orders,notional,arrival_slippage_bps\r\n"ACME, Inc.",2,1000,1.5\r\nGS,1,500.5,\r\n');
    expect(toCsv({ name: 't', columns: ['say'], rows: [{ say: 'a "quote"\nand a line' }] })).toBe('say\r\n"a ""quote""\nand a line"\r\n');
  });

  it('writes Parquet that DuckDB reads back with the same rows, every double to the bit', async () => {
    const awkward = [0.1 + 0.2, 1e-300, -123456.78901234567, 2 ** 53 + 2];
    const table: SectionTable = {
      name: 't',
      columns: ['key', 'x', 'flag', 'mixed', 'nothing'],
      rows: awkward.map((x, i) => ({ key: i === 1 ? null : `k${i}`, x, flag: i % 2 === 0, mixed: i === 0 ? 'a' : i, nothing: null })),
    };
    const dir = await mkdtemp(join(tmpdir(), 'nightshift-parquet-spec-'));
    try {
      const file = join(dir, 't.parquet');
      await writeFile(file, await toParquet(table));
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      try {
        const described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowObjectsJS().map((r) => `${String(r['column_name'])} ${String(r['column_type'])}`);
        expect(described).toEqual(['key VARCHAR', 'x DOUBLE', 'flag BOOLEAN', 'mixed VARCHAR', 'nothing VARCHAR']);
        const rows = (await connection.runAndReadAll(`SELECT * FROM read_parquet('${file}')`)).getRowObjectsJS();
        expect(rows).toEqual(awkward.map((x, i) => ({ key: i === 1 ? null : `k${i}`, x, flag: i % 2 === 0, mixed: i === 0 ? 'a' : String(i), nothing: null })));
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
