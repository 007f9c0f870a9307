import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBusinessDay, runTca, type GeneratedTable, type TcaPartial } from '@nightshift/analytics';
import type { ManifestEntry, StepManifest } from '@nightshift/jobs-domain';
import { createLogger } from '@nightshift/observability';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { loadWorkerConfig } from './config.js';
import { runTask } from './run-task.js';
import { stagePartitionInputs } from './task-entry.js';

/*
 * Quotes and trades landed one file per symbol: each desk's task stages and reads only the files
 * of its orders' symbols. Two desks trade disjoint books (EQ1: SYM001-SYM002, EQ2: SYM003-SYM004).
 */

/**
 * The directory store, staging like the S3 store does: a copy of each object under the scratch
 * directory at its key's path, so what a task fetched is what its scratch directory holds.
 */
class CopyingObjectStore extends DirectoryObjectStore {
  override async localFile(key: string, scratchDir: string): Promise<string> {
    const target = join(scratchDir, ...key.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await copyFile(await super.localFile(key, scratchDir), target);
    return target;
  }
}

const quiet = createLogger({ service: 'nightshift-worker', level: 'silent' });
const MANIFEST = 'runs/r1/tca/manifest.json';
const DESKS = ['EQ1', 'EQ2'];

let root: string;
let store: CopyingObjectStore;
let single: GeneratedTable[];
let entries: ManifestEntry[];

/** Every file under `dir`, as `/`-separated paths relative to it, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/')).sort();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'worker-symbols-'));
  store = new CopyingObjectStore(join(root, 'objects'));
  const options = { businessDate: '2024-03-15', seed: 5, desks: DESKS, symbols: 4, symbolsPerDesk: 2, ordersPerDesk: 30, quotesPerSymbol: 200, historyDays: 5 };
  single = (await generateBusinessDay({ ...options, outDir: join(root, 'single') })).files;
  const outDir = join(root, 'split');
  const { files } = await generateBusinessDay({ ...options, outDir, marketFilesBySymbol: true });
  // Landed as the sample day lands them: under landing/, keys mirroring the generator's layout.
  const keyOf = (f: GeneratedTable) => `landing/day/${relative(outDir, f.path).split(sep).join('/')}`;
  for (const f of files) await store.putFile(keyOf(f), f.path);
  // What the planner writes for a desk's child: its own files, and the files landed without a desk as shared.
  const market = files.filter((f) => f.desk === undefined && f.table !== 'prices');
  entries = DESKS.map((desk, arrayIndex) => {
    const inputs: ManifestEntry['inputs'] = {};
    const sharedInputs: ManifestEntry['sharedInputs'] = {};
    for (const f of [...files.filter((g) => g.desk === desk), ...market]) {
      (inputs[f.table] ??= []).push(keyOf(f));
      if (f.desk === undefined) (sharedInputs[f.table] ??= []).push(keyOf(f));
    }
    return { arrayIndex, taskId: `tca#${desk}`, partition: desk, inputs, sharedInputs, outputKey: `runs/r1/tca/out/${desk}.json` };
  });
  const manifest: StepManifest = { runId: 'r1', step: 'tca', analytic: 'tca', datasetId: 'day@2024-03-15#v1', businessDate: '2024-03-15', entries };
  await store.put(MANIFEST, JSON.stringify(manifest));
}, 120_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('stagePartitionInputs', () => {
  const deskFiles = (desk: string) => [
    `landing/day/fills/business_date=2024-03-15/desk=${desk}/part-0.csv`,
    `landing/day/orders/business_date=2024-03-15/desk=${desk}/part-0.csv`,
  ];
  const symbolFiles = (symbols: string[]) =>
    ['quotes', 'trades'].flatMap((table) => symbols.map((s) => `landing/day/${table}/business_date=2024-03-15/symbol=${s}/part-0.csv`));

  it("stages and hands the TCA only the quote and trade files of the desk's order symbols", async () => {
    for (const [i, desk, symbols] of [[0, 'EQ1', ['SYM001', 'SYM002']], [1, 'EQ2', ['SYM003', 'SYM004']]] as const) {
      const scratch = await mkdtemp(join(root, 'scratch-'));
      const { entry, paths } = await stagePartitionInputs(store, 'tca', entries[i]!, scratch);
      const expected = [...deskFiles(desk), ...symbolFiles([...symbols])].sort();
      expect(await filesUnder(scratch)).toEqual(expected);
      expect([...paths.keys()].sort()).toEqual(expected);
      expect(entry.inputs.quotes).toEqual(symbolFiles([...symbols]).slice(0, 2));
      expect(entry.inputs.trades).toEqual(symbolFiles([...symbols]).slice(2));
      // Still marked shared (landed without a desk), and the desk's own files untouched.
      expect(entry.sharedInputs.quotes).toEqual(entry.inputs.quotes);
      expect(entry.inputs.orders).toEqual(entries[i]!.inputs.orders);
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('stages only the tables an analytic reads: the execution report fetches no quote or trade file', async () => {
    const scratch = await mkdtemp(join(root, 'scratch-'));
    const { entry, paths } = await stagePartitionInputs(store, 'execution-report', entries[0]!, scratch);
    expect(await filesUnder(scratch)).toEqual(deskFiles('EQ1'));
    expect([...paths.keys()].sort()).toEqual(deskFiles('EQ1'));
    expect(entry.inputs).toEqual({ orders: entries[0]!.inputs.orders, fills: entries[0]!.inputs.fills });
    expect(entry.sharedInputs).toEqual({});
    await rm(scratch, { recursive: true, force: true });
  });

  it('stages every input, unchanged, for an analytic it does not know', async () => {
    const scratch = await mkdtemp(join(root, 'scratch-'));
    const { entry, paths } = await stagePartitionInputs(store, 'custom', entries[0]!, scratch);
    expect(entry).toBe(entries[0]);
    expect([...paths.keys()].sort()).toEqual([...deskFiles('EQ1'), ...symbolFiles(['SYM001', 'SYM002', 'SYM003', 'SYM004'])].sort());
    await rm(scratch, { recursive: true, force: true });
  });
});

describe('runTask over quotes split by symbol', () => {
  it("gives each desk the TCA of its orders against the whole day's single quote and trade files", async () => {
    for (const [arrayIndex, desk] of DESKS.entries()) {
      const config = loadWorkerConfig({ NIGHTSHIFT_MANIFEST_KEY: MANIFEST, NIGHTSHIFT_OBJECT_STORE_DIR: join(root, 'objects'), NIGHTSHIFT_ARRAY_INDEX: String(arrayIndex) });
      const { outputKey } = await runTask(config, store, quiet);
      const { result } = JSON.parse(Buffer.from(await store.get(outputKey)).toString('utf8')) as { result: TcaPartial };
      const path = (table: GeneratedTable['table']) => single.find((f) => f.table === table && (f.desk === undefined || f.desk === desk))!.path;
      const direct = await runTca({ orders: path('orders'), fills: path('fills'), quotes: path('quotes'), trades: path('trades'), by: ['broker', 'venue', 'algo', 'desk', 'symbol'], threads: 1 });
      expect(result.groups.length).toBeGreaterThan(5);
      // Exactly: the sums are exact decimals, whatever order the rows reach DuckDB in. (The worker's
      // result also names the per-order and per-fill files it published: not compared.)
      expect(result.groups).toEqual(direct.groups);
      expect(result.dimensions).toEqual(direct.dimensions);
    }
  });
});
