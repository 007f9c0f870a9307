import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { AnalyticsEngineError, DataFileAccessError, InputDataError, SCHEMAS, validateTableFile, type RowProblem, type TableName } from '@nightshift/analytics';
import { dataProblemSchema } from '@nightshift/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUZZ_RUNS } from './fuzz-runs.js';

/**
 * Data files: arbitrary CSV content through the validator on real files. It resolves with problems
 * (or none), never throws an unclassified error; every problem is located; and a problem (which
 * ingestion publishes as is) carries no byte of the file: a marker planted in the content never
 * shows in a reason, and every reason fits the Dataset Rejected contract.
 */

const MARKER = 'QZXMARKERQZX';
/** Each case is a DuckDB run (tens of ms): the long `npm run fuzz` needs more than the default minute. */
const TIMEOUT = 60_000 + FUZZ_RUNS * 250;
const TABLES: TableName[] = ['orders', 'fills', 'quotes', 'trades', 'prices', 'returns'];

/** A field: values of each column type, valid or not, the marker in several disguises, and CSV's own characters. */
const cell = fc.oneof(
  fc.constantFrom('', ' ', '1', '-1', '0', '1e309', 'NaN', 'BUY', 'SELL', 'FILLED', 'cash', 'AAPL', '2026-11-20', '2026-11-20T14:30:00Z', '2026-02-30', '2026-11-20 25:00:00'),
  fc.constantFrom(MARKER, `"${MARKER}"`, `${MARKER},${MARKER}`, `"${MARKER}\n${MARKER}"`, `1${MARKER}`, `${MARKER}-01-01`, `'${MARKER}'`, `"${MARKER}`, `${MARKER}\r`, `${MARKER}: x`, `(${MARKER})`),
  fc.string({ maxLength: 12 }),
  fc.string({ maxLength: 8, unit: 'binary' }),
  fc.double().map(String),
  fc.constantFrom('"', '""', ',', '\n', '\r\n', '\t', ';', '\\', '\u0000', '\ufeff'),
);

/** A header: the table's own (whole, partial, shuffled, duplicated), with the marker or odd names mixed in. */
function header(table: TableName): fc.Arbitrary<string[]> {
  const names = SCHEMAS[table].columns.map((c) => c.name);
  return fc.oneof(
    fc.constant(names),
    fc.shuffledSubarray(names),
    fc.tuple(fc.shuffledSubarray(names), fc.array(fc.oneof(fc.constantFrom(MARKER, `${MARKER} `, `"${MARKER}"`, names[0]!), fc.string({ maxLength: 8 })), { minLength: 1, maxLength: 3 })).map(([a, b]) => [...a, ...b]),
  );
}

/** CSV text over the table's header, or any text or bytes at all. */
function csv(table: TableName): fc.Arbitrary<Buffer> {
  const structured = fc
    .tuple(header(table), fc.array(fc.array(cell, { maxLength: 20 }), { maxLength: 8 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
    .map(([h, rows, eol, trailing]) => Buffer.from([h.join(','), ...rows.map((r) => r.join(','))].join(eol) + (trailing ? eol : '')));
  return fc.oneof(
    structured,
    structured,
    fc.string({ maxLength: 200 }).map((s) => Buffer.from(`${SCHEMAS[table].columns.map((c) => c.name).join(',')}\n${s}${MARKER}`)),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([Buffer.from(b), Buffer.from(MARKER)])),
  );
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nightshift-fuzz-data-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let n = 0;
/** Validates the content as a file of the table; a throw must be one of the library's classified errors. */
async function validate(table: TableName, content: Buffer): Promise<{ path: string; rows: number; problems: RowProblem[] } | undefined> {
  const path = join(dir, `f${n++}.csv`);
  await writeFile(path, content);
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`validateTableFile(${table}) took over 15 s on ${JSON.stringify(content.toString('latin1'))}`)), 15_000);
  });
  try {
    return { path, ...(await Promise.race([validateTableFile(table, path), hung])) };
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('validateTableFile(')) throw e;
    expect(e instanceof InputDataError || e instanceof DataFileAccessError || e instanceof AnalyticsEngineError, `unclassified: ${String(e)}`).toBe(true);
    return undefined;
  } finally {
    clearTimeout(timer);
    await rm(path, { force: true });
  }
}

const sample = fc.constantFrom(...TABLES).chain((table) => fc.tuple(fc.constant(table), csv(table)));

describe('fuzz: data files through validateTableFile', () => {
  it('resolves with located problems or none; what ingestion publishes of them shows no file content', async () => {
    await fc.assert(
      fc.asyncProperty(sample, async ([table, content]) => {
        const result = await validate(table, content);
        if (!result) return;
        expect(Number.isInteger(result.rows) && result.rows >= 0, `rows ${result.rows}`).toBe(true);
        for (const p of result.problems) {
          expect(p.file).toBe(result.path);
          expect(Number.isInteger(p.line) && p.line >= 0, JSON.stringify(p)).toBe(true);
          expect(p.message.length, JSON.stringify(p)).toBeGreaterThan(0);
          const published = { ...p, file: `landing/${table}.csv` };
          expect(JSON.stringify(published), `content leaked from ${JSON.stringify(p)}`).not.toContain(MARKER);
          expect(dataProblemSchema.safeParse(published).success, `a reason the Dataset Rejected contract refuses: ${JSON.stringify(published)}`).toBe(true);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  }, TIMEOUT);
});

describe('fuzz: validateTableFile never quotes file content (issue 9: "file contents never appear in error messages")', () => {
  // Values, unknown headers and DuckDB's own text are never quoted: a value is named by its type, an
  // unknown header by its position, an unreadable file by what it is not.
  it('never puts a marker planted in the file into a problem message', async () => {
    await fc.assert(
      fc.asyncProperty(sample, async ([table, content]) => {
        const result = await validate(table, content);
        for (const p of result?.problems ?? []) expect(`${p.column ?? ''} ${p.message}`, JSON.stringify(p)).not.toContain(MARKER);
      }),
      { numRuns: FUZZ_RUNS },
    );
  }, TIMEOUT);
});
