import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDuckDb, sqlString } from './duckdb.js';
import { DataFileAccessError, validateTableFile } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'validate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HEADER = 'ts,symbol,price,qty';

describe('validateTableFile (CSV)', () => {
  it('reports every bad row with its physical line and column', async () => {
    const path = join(dir, 'trades.csv');
    await writeFile(
      path,
      [
        HEADER, //                                         line 1
        '2024-03-15 10:00:00,ABC,100.10,100', //           line 2 ok
        '2024-03-15 10:00:01,ABC,100.20,200', //           line 3 ok
        '2024-03-15 10:00:02,ABC,100.30,ten', //           line 4 qty not numeric
        '2024-03-15 10:00:03,ABC,100.40', //               line 5 missing field (qty)
        '', //                                             line 6 blank: skipped
        '2024-03-15 10:00:04,ABC,-1,300', //               line 7 price must be > 0
        '2024-03-15 10:00:05,,100.60,300', //              line 8 symbol missing
        '2024-03-15 10:00:06,ABC,,300', //                 line 9 price missing
        'yesterday,ABC,100.80,300', //                     line 10 bad timestamp
        '2024-03-15 10:00:08,ABC,100.90,400', //           line 11 ok
      ].join('\n') + '\n',
    );
    const result = await validateTableFile('trades', path);
    expect(result.rows).toBe(9);
    expect(result.problems.map((p) => [p.line, p.column])).toEqual([
      [4, 'qty'],
      [5, 'qty'],
      [7, 'price'],
      [8, 'symbol'],
      [9, 'price'],
      [10, 'ts'],
    ]);
    expect(result.problems[0]).toMatchObject({ file: path, message: 'not a valid DOUBLE' });
    expect(result.problems[1].message).toMatch(/missing field/);
    expect(result.problems[2].message).toBe('price must be > 0');
    expect(result.problems[3].message).toBe('missing required value');
    expect(result.problems[4].message).toBe('missing required value');
  });

  it('checks a return series: date and return typed, a loss beyond -100% is a problem, an empty return is a missing observation', async () => {
    const path = join(dir, 'returns.csv');
    await writeFile(
      path,
      [
        'date,return', //          line 1
        '2024-03-14,0.01', //      line 2 ok
        '2024-03-15,', //          line 3 ok: missing observation
        '2024-03-18,abc', //       line 4 return not numeric
        '2024-03-19,-1.5', //      line 5 below -100%
        'not-a-date,0.02', //      line 6 bad date
        '2024-03-21,-0.02', //     line 7 ok
      ].join('\n') + '\n',
    );
    const result = await validateTableFile('returns', path);
    expect(result.rows).toBe(6);
    expect(result.problems).toEqual([
      { file: path, line: 4, column: 'return', message: 'not a valid DOUBLE' },
      { file: path, line: 5, column: 'return', message: 'return must be >= -1 (a loss beyond 100%)' },
      { file: path, line: 6, column: 'date', message: 'not a valid DATE' },
    ]);
  });

  it('reports header problems on line 1 and still checks the rows', async () => {
    const path = join(dir, 'trades-header.csv');
    // "qty" column missing entirely, an unknown column added
    await writeFile(path, 'ts,symbol,price,venue\n2024-03-15 10:00:00,ABC,abc,X\n2024-03-15 10:00:01,ABC,1.5,Y\n');
    const result = await validateTableFile('trades', path);
    expect(result.rows).toBe(2);
    expect(result.problems).toEqual([
      { file: path, line: 1, column: '#4', message: expect.stringMatching(/^unexpected column at position 4 \(the table's columns: /) },
      { file: path, line: 1, column: 'qty', message: 'missing required column "qty"' },
      { file: path, line: 2, column: 'price', message: 'not a valid DOUBLE' },
    ]);
  });

  it('accepts a clean file, optional columns left empty, and an empty file is one problem', async () => {
    const path = join(dir, 'fills.csv');
    await writeFile(
      path,
      'fill_id,order_id,exec_type,ref_fill_id,ts,venue,last_qty,last_px,commission,fees\nF1,O1,FILL,,2024-03-15 10:00:30,XNYS,10,1.5,0,0\nF1-X,O1,BUST,,2024-03-15 10:00:31,XNYS,10,1.5,0,0\n',
    );
    const result = await validateTableFile('fills', path);
    expect(result.rows).toBe(2);
    expect(result.problems).toEqual([{ file: path, line: 3, column: 'ref_fill_id', message: 'ref_fill_id is required for BUST and CORRECT' }]);

    const empty = join(dir, 'empty.csv');
    await writeFile(empty, '');
    expect((await validateTableFile('quotes', empty)).problems).toEqual([{ file: empty, line: 1, message: 'empty file: expected a quotes header' }]);
  });

  it('throws only for I/O errors', async () => {
    await expect(validateTableFile('quotes', join(dir, 'nope.csv'))).rejects.toBeInstanceOf(DataFileAccessError);
  });
});

describe('validateTableFile (Parquet)', () => {
  it('reports type and rule problems by 1-based row', async () => {
    const path = join(dir, 'trades.parquet');
    await withDuckDb((db) =>
      db.exec(`COPY (SELECT * FROM (VALUES
        (TIMESTAMP '2024-03-15 10:00:00', 'ABC', '100.1', 100),
        (TIMESTAMP '2024-03-15 10:00:01', 'ABC', 'x', 100),
        (TIMESTAMP '2024-03-15 10:00:02', 'ABC', '100.3', 0)) t(ts, symbol, price, qty)) TO ${sqlString(path)} (FORMAT parquet)`),
    );
    const result = await validateTableFile('trades', path);
    expect(result.rows).toBe(3);
    expect(result.problems.map((p) => [p.line, p.column, p.message])).toEqual([
      [2, 'price', 'expected DOUBLE'],
      [3, 'qty', 'qty must be > 0'],
    ]);
  });
});
