import { constants } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { runOutputsListingSchema } from '@nightshift/contracts';
import type { ManifestEntry, StepManifest } from '@nightshift/jobs-domain';
import type { ObjectStore } from '@nightshift/storage-domain';
import { CommandResultError, WorkerUsageError } from './errors.js';
import { forEachConcurrently, inputKeys, STAGING_CONCURRENCY, stageInputs } from './task-entry.js';

/** What a command finds in its scratch directory (its working directory), as absolute paths. */
export interface CommandWorkspace {
  root: string;
  /** `entry.json`: the manifest entry of this child. */
  entryFile: string;
  /** `inputs/<table>/<basename of key>`: every input of the entry, the command's own copy. */
  inputDir: string;
  /** `output/`: empty; the command may write `result.json` here. */
  outputDir: string;
  /** `upstream/<step>/<partition>.json`: the first stage's output documents, in a chained run only. */
  upstreamDir?: string;
}

/** Where a command writes its result, relative to its output directory. */
export const RESULT_FILE = 'result.json';

/** Lays out `root` (an empty directory the caller owns and removes) for one command run. */
export async function prepareWorkspace(
  objects: ObjectStore,
  manifest: StepManifest,
  entry: ManifestEntry,
  root: string,
): Promise<CommandWorkspace> {
  const workspace: CommandWorkspace = {
    root,
    entryFile: join(root, 'entry.json'),
    inputDir: join(root, 'inputs'),
    outputDir: join(root, 'output'),
    ...(manifest.upstream ? { upstreamDir: join(root, 'upstream') } : {}),
  };
  await placeInputs(objects, entry, workspace.inputDir, join(root, '.staging'));
  await writeFile(workspace.entryFile, JSON.stringify(entry, null, 2) + '\n');
  if (manifest.upstream && workspace.upstreamDir) {
    await fetchUpstream(objects, manifest.upstream.outputsKey, workspace.upstreamDir);
  }
  await mkdir(workspace.outputDir);
  return workspace;
}

/** The command's `result.json` parsed; null when it wrote none. CommandResultError when it is not JSON. */
export async function readCommandResult(workspace: CommandWorkspace): Promise<unknown> {
  const shown = `$NIGHTSHIFT_OUTPUT_DIR/${RESULT_FILE}`;
  let text: string;
  try {
    text = await readFile(join(workspace.outputDir, RESULT_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CommandResultError(shown, `cannot read it (${(e as Error).message})`, { cause: e });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CommandResultError(shown, (e as Error).message, { cause: e });
  }
}

/**
 * Every input of the entry (its own and shared, by table) under `<inputDir>/<table>/`: by its file
 * name, or, when two keys of a table share one (hive-style `desk=a/part-0.csv`, `desk=b/part-0.csv`),
 * by its path below the directory the table's keys have in common. Files a store staged under
 * `stagingDir` are moved into place; a file the store answers in place (the directory store's own)
 * is copied, copy-on-write where the file system can: the command owns its inputs and may change
 * them, the store's objects must not change.
 */
async function placeInputs(
  objects: ObjectStore,
  entry: ManifestEntry,
  inputDir: string,
  stagingDir: string,
): Promise<void> {
  const byTable = new Map<string, Set<string>>();
  for (const inputs of [entry.inputs, entry.sharedInputs]) {
    for (const [table, keys] of Object.entries(inputs) as Array<[string, string[] | undefined]>) {
      const set = byTable.get(fileName(table, 'table')) ?? new Set<string>();
      for (const key of keys ?? []) set.add(key);
      byTable.set(table, set);
    }
  }
  const keyOf = new Map<string, string>();
  for (const [table, keys] of byTable) {
    for (const [key, path] of localPaths([...keys])) keyOf.set(join(inputDir, table, ...path.map((p) => fileName(p, 'input key'))), key);
  }
  await mkdir(inputDir);
  for (const target of keyOf.keys()) await mkdir(dirname(target), { recursive: true });
  const staged = await stageInputs(objects, inputKeys(entry), stagingDir);
  const placed = new Map<string, string>();
  for (const [target, key] of keyOf) {
    const source = placed.get(key) ?? staged.get(key)!;
    const ours = !placed.has(key) && isWithin(stagingDir, source);
    if (ours) await rename(source, target);
    else await copyFile(source, target, constants.COPYFILE_FICLONE);
    placed.set(key, target);
  }
  await rm(stagingDir, { recursive: true, force: true });
}

/**
 * Where each key of one table goes, as path segments: its file name when the table's file names are
 * distinct, else its path below the directory all the table's keys share (distinct, as keys are).
 */
function localPaths(keys: readonly string[]): Map<string, string[]> {
  const split = keys.map((k) => k.split('/'));
  const names = new Set(split.map((parts) => parts[parts.length - 1]));
  if (names.size === keys.length) return new Map(keys.map((k, i) => [k, [split[i]![split[i]!.length - 1]!]]));
  let common = 0;
  const shortest = Math.min(...split.map((parts) => parts.length - 1));
  while (common < shortest && split.every((parts) => parts[common] === split[0]![common])) common++;
  return new Map(keys.map((k, i) => [k, split[i]!.slice(common)]));
}

/** Writes each output document of the first stage's listing as `<dir>/<step>/<partition>.json`. */
async function fetchUpstream(objects: ObjectStore, outputsKey: string, dir: string): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(await objects.get(outputsKey)).toString('utf8'));
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new WorkerUsageError(`upstream outputs listing ${outputsKey} is not JSON: ${e.message}`, { cause: e });
  }
  const listing = runOutputsListingSchema.safeParse(body);
  if (!listing.success) {
    const problems = listing.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new WorkerUsageError(`upstream outputs listing ${outputsKey} is not a RunOutputsListing: ${problems}`);
  }
  const files = new Map<string, string>();
  for (const { step, partition, key } of listing.data.outputs) {
    const file = join(fileName(step, 'upstream step'), `${fileName(partition, 'upstream partition')}.json`);
    if (files.has(file))
      throw new WorkerUsageError(`upstream outputs listing ${outputsKey} lists ${step} ${partition} twice`);
    files.set(file, key);
  }
  await mkdir(dir);
  for (const step of new Set(listing.data.outputs.map((o) => o.step))) await mkdir(join(dir, step));
  await forEachConcurrently([...files], STAGING_CONCURRENCY, async ([file, key]) => {
    await writeFile(join(dir, file), await objects.get(key));
  });
}

/** A name from the manifest or a listing, refused unless it is one plain path segment. */
function fileName(name: string, what: string): string {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new WorkerUsageError(`${what} ${JSON.stringify(name)} cannot be a file name`);
  }
  return name;
}

function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
