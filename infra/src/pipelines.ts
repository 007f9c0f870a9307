import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUILT_IN_PIPELINES,
  InvalidPipelineFilesError,
  isPipelineFileName,
  parsePipelineFiles,
  type PipelineDefinition,
  type PipelineFileText,
} from '@nightshift/jobs-domain';
import type { InfraConfig } from './config.js';

/**
 * The pipelines a deployment runs: the built-in ones, then those of `config.pipelinesDir`'s files,
 * parsed and checked by `parsePipelineFiles` as the planner and reporting check the same files at
 * boot, so a file they would refuse fails the synth instead (an `InvalidPipelineFilesError` naming
 * each problem's file, path and line).
 */
export function deployedPipelines(config: Pick<InfraConfig, 'pipelinesDir'>): PipelineDefinition[] {
  if (config.pipelinesDir === undefined) return [...BUILT_IN_PIPELINES];
  const files = readPipelineFiles(config.pipelinesDir);
  return [...BUILT_IN_PIPELINES, ...parsePipelineFiles(files, { builtIn: BUILT_IN_PIPELINES, dir: config.pipelinesDir })];
}

/**
 * The pipeline files of `dir` as the services' loader picks them (`loadPipelineFiles`): its
 * `*.yaml`, `*.yml` and `*.json` files and links to files, in name order, not recursive; each named
 * by its path. A directory that is not there was configured all the same: refused, naming it.
 */
export function readPipelineFiles(dir: string): PipelineFileText[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
    const why = code === 'ENOENT' ? 'no such directory' : 'not a directory';
    throw new InvalidPipelineFilesError(dir, [{ file: dir, path: '', message: `cannot read the pipelines directory: ${why}` }]);
  }
  return entries
    .filter((e) => isPipelineFileName(e.name))
    .filter((e) => e.isFile() || (e.isSymbolicLink() && statSync(join(dir, e.name), { throwIfNoEntry: false })?.isFile() === true))
    .map((e) => e.name)
    .sort()
    .map((name) => ({ name: join(dir, name), text: readFileSync(join(dir, name), 'utf8') }));
}
