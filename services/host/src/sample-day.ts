import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { generateBusinessDay } from '@nightshift/analytics';
import type { DatasetLandedDetail, DatasetTable } from '@nightshift/contracts';
import type { ObjectStore } from '@nightshift/storage-domain';

/** The dataset name the nightly TCA pipeline is triggered by. */
export const SAMPLE_DATASET = 'executions';

export interface SampleDayOptions {
  businessDate: string;
  seed: number;
  desks: string[];
  ordersPerDesk?: number;
  quotesPerSymbol?: number;
  /** Symbols of the day (default 20); each desk trades its own book of ceil(symbols / desks) of them. */
  symbols?: number;
}

const SAMPLE_SYMBOLS = 20;

/**
 * Object-store prefix under which upstream lands the dataset, hive-partitioned by table, date and
 * desk (orders, fills) or symbol (quotes, trades: one file per symbol, so a desk's task fetches and
 * reads only its symbols).
 */
export const LANDING_PREFIX = `landing/${SAMPLE_DATASET}/`;

/**
 * Makes sure a sample business day is in the object store (generating it, deterministically from
 * the seed, only when none is there) and returns the Dataset Landed detail an upstream system
 * would send for it.
 */
export async function ensureSampleDay(objects: ObjectStore, options: SampleDayOptions): Promise<{ detail: DatasetLandedDetail; generated: boolean }> {
  const prefix = LANDING_PREFIX;
  const ofDate = `/business_date=${options.businessDate}/`;
  let keys = (await objects.list(prefix)).map((o) => o.key).filter((k) => k.includes(ofDate));
  const generated = keys.length === 0;
  if (generated) {
    const outDir = await mkdtemp(join(tmpdir(), 'nightshift-sample-'));
    const symbols = options.symbols ?? SAMPLE_SYMBOLS;
    try {
      const { files } = await generateBusinessDay({
        outDir,
        businessDate: options.businessDate,
        seed: options.seed,
        desks: options.desks,
        format: 'csv',
        ...(options.ordersPerDesk ? { ordersPerDesk: options.ordersPerDesk } : {}),
        ...(options.quotesPerSymbol ? { quotesPerSymbol: options.quotesPerSymbol } : {}),
        symbols,
        // Desks trade books of their own, as desks do: more desks do not mean more quotes per desk.
        symbolsPerDesk: Math.ceil(symbols / options.desks.length),
        marketFilesBySymbol: true,
      });
      keys = [];
      for (const f of files) {
        const key = prefix + relative(outDir, f.path).split(sep).join('/');
        await objects.putFile(key, f.path);
        keys.push(key);
      }
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }
  return { detail: { dataset: SAMPLE_DATASET, businessDate: options.businessDate, producer: 'nightshift-sample-generator', files: keys.sort().map(fileOf(prefix)) }, generated };
}

/** `<prefix><table>/business_date=<d>/[desk=<desk>/|symbol=<SYM>/]part-0.csv` -> a landed file entry (a symbol's file has no desk: every desk may read it). */
function fileOf(prefix: string) {
  return (key: string): DatasetLandedDetail['files'][number] => {
    const parts = key.slice(prefix.length).split('/');
    const desk = parts.find((p) => p.startsWith('desk='))?.slice('desk='.length);
    return { table: parts[0] as DatasetTable, key, ...(desk ? { desk } : {}) };
  };
}
