/*
 * Errors of the platform lib that are not configuration errors (those are `ConfigError`, in
 * config.ts, where each deployable's config is parsed). Each says whether trying again can help
 * (`retryable`), so a caller decides from the type alone.
 */

/** One problem of a pipeline file: which file, where in it, and what is wrong there. */
export interface PipelineFileProblem {
  /** The file (the directory's path joined with its name), or the directory itself when it cannot be read. */
  file: string;
  /** Dotted path in the file's document (`steps.1.dependsOn.0`); `''` for the file as a whole. */
  path: string;
  /** 1-based line of the path (or of the syntax error) in the file, when known. */
  line?: number;
  /** 1-based column of the path in its line, when known. */
  column?: number;
  message: string;
}

/** `<file>: <path> (line L, col C): <message>`, the parts that are known. */
export function formatPipelineFileProblem(p: PipelineFileProblem): string {
  const where = p.line === undefined ? '' : ` (line ${p.line}${p.column === undefined ? '' : `, col ${p.column}`})`;
  return `${p.file}${p.path ? `: ${p.path}` : ''}${where}: ${p.message}`;
}

/**
 * Pipeline files that cannot be loaded: every problem of every file, found at once, so one start
 * shows all there is to fix. The message lists them one per line. Refused at boot: the files must
 * change, so trying again cannot help.
 */
export class InvalidPipelineFilesError extends Error {
  readonly retryable = false;
  constructor(
    readonly dir: string,
    readonly problems: PipelineFileProblem[],
  ) {
    super(
      `invalid pipeline files in ${dir} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${formatPipelineFileProblem(p)}`).join('\n'),
    );
    this.name = new.target.name;
  }
}
