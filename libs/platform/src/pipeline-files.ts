import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUILT_IN_PIPELINES,
  isPipelineFileName,
  parsePipelineFiles,
  type PipelineDefinition,
  type PipelineFileText,
} from '@nightshift/jobs-domain';
import type { DeploymentConfig } from './config.js';
import { InvalidPipelineFilesError, type PipelineFileProblem } from './errors.js';

export { PIPELINE_FILE_EXTENSIONS } from '@nightshift/jobs-domain';

/** How {@link loadPipelineFiles} reads a directory. */
export interface LoadPipelineFilesOptions {
  /**
   * The pipelines defined in code (the built-in ones, and any a test or host adds): a file may not
   * take one of their names, and its `trigger.pipelines` may name them.
   */
  builtIn: readonly PipelineDefinition[];
  /**
   * The directory was configured explicitly, so a missing one is an error naming it; otherwise (a
   * default location) a missing directory holds no pipelines.
   */
  required: boolean;
}

/**
 * Reads the pipelines users define in `dir`: each `*.yaml`, `*.yml` or `*.json` file holds one
 * pipeline, parsed and checked by `parsePipelineFiles` (jobs-domain; the CDK app checks the same
 * files with it). Not recursive; files in name order. Every problem of every file (one that cannot
 * be read included) is collected first, then thrown as one {@link InvalidPipelineFilesError} whose
 * problems name the file (`dir` joined with its name), the path in it and its line. Synchronous:
 * done once at boot, before anything starts.
 */
export function loadPipelineFiles(dir: string, options: LoadPipelineFilesOptions): PipelineDefinition[] {
  const paths = pipelineFileNames(dir, options.required).map((name) => join(dir, name));
  const unreadable: PipelineFileProblem[] = [];
  const files = paths.flatMap((file): PipelineFileText[] => {
    try {
      return [{ name: file, text: readFileSync(file, 'utf8') }];
    } catch (e) {
      unreadable.push({ file, path: '', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
      return [];
    }
  });
  let pipelines: PipelineDefinition[] = [];
  const problems = [...unreadable];
  try {
    pipelines = parsePipelineFiles(files, { builtIn: options.builtIn, dir });
  } catch (e) {
    if (!(e instanceof InvalidPipelineFilesError)) throw e;
    problems.push(...e.problems);
  }
  if (problems.length > 0) {
    // File by file, in name order (stable: each file's own problems in the order they were found).
    const order = new Map(paths.map((p, i) => [p, i]));
    throw new InvalidPipelineFilesError(dir, problems.sort((a, b) => (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1)));
  }
  return pipelines;
}

/**
 * The pipelines a deployable runs with: the built-in ones, those of `config.pipelinesDir`'s files
 * when it is set (required then: it was configured), and `extra` (given in code: tests, or the
 * embedded host's, which loads the files once and passes them here).
 */
export function deployedPipelines(
  config: Pick<DeploymentConfig, 'pipelinesDir'>,
  extra: readonly PipelineDefinition[] = [],
): PipelineDefinition[] {
  const files =
    config.pipelinesDir === undefined
      ? []
      : loadPipelineFiles(config.pipelinesDir, { builtIn: [...BUILT_IN_PIPELINES, ...extra], required: true });
  return [...BUILT_IN_PIPELINES, ...files, ...extra];
}

/** The directory's pipeline files, sorted by name; `[]` for a missing directory that was not required. */
function pipelineFileNames(dir: string, required: boolean): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return [];
    const why =
      code === 'ENOENT'
        ? 'no such directory'
        : code === 'ENOTDIR'
          ? 'not a directory'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : undefined;
    if (why === undefined) throw e;
    throw new InvalidPipelineFilesError(dir, [
      { file: dir, path: '', message: `cannot read the pipelines directory: ${why}` },
    ]);
  }
  return entries
    .filter((e) => isPipelineFileName(e.name))
    .filter(
      (e) =>
        e.isFile() || (e.isSymbolicLink() && statSync(join(dir, e.name), { throwIfNoEntry: false })?.isFile() === true),
    )
    .map((e) => e.name)
    .sort();
}
