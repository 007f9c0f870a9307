import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { InvalidPipelineError, InvalidPipelineFilesError, type PipelineFileProblem } from '../errors.js';
import { definePipeline, type PipelineDefinition } from './pipeline-definition.js';

/** The files of a pipelines directory that hold pipelines (one each); every other file is ignored. */
export const PIPELINE_FILE_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

/** Whether a file of a pipelines directory holds a pipeline, by its name's extension. */
export function isPipelineFileName(name: string): boolean {
  return PIPELINE_FILE_EXTENSIONS.some((ext) => name.endsWith(ext));
}

/** One pipeline file as read: `name` is how problems name it (a loader gives the directory joined with it). */
export interface PipelineFileText {
  name: string;
  text: string;
}

/** How {@link parsePipelineFiles} checks the files. */
export interface ParsePipelineFilesOptions {
  /**
   * The pipelines defined in code (the built-in ones, and any a test or host adds): a file may not
   * take one of their names, and its `trigger.pipelines` may name them.
   */
  builtIn: readonly PipelineDefinition[];
  /** Where the files were read from, named by the error's message; none when they came from elsewhere. */
  dir?: string;
}

/** One file parsed; `pipeline` once it is a valid definition. */
interface ParsedFile {
  file: string;
  doc?: Document;
  lines?: LineCounter;
  /** The `name` it declares, valid or not: clashes and chains are checked against it. */
  name?: string;
  /** The `trigger.pipelines` it declares, valid or not (by index; `undefined` where not a name). */
  chainedAfter?: ReadonlyArray<string | undefined>;
  pipeline?: PipelineDefinition;
}

/**
 * The pipelines of `files`: each holds one pipeline as YAML (JSON is read as YAML), checked as
 * `definePipeline` checks one. Also refused: a file that is not one mapping, a name already taken
 * (by a built-in or an earlier file), a `trigger.pipelines` naming no known pipeline, and chains
 * that form a cycle. Every problem of every file is collected first, then thrown as one
 * {@link InvalidPipelineFilesError} whose problems name the file, the path in it and its line.
 * Pure: reading the files is the caller's (the services' loader, the CDK app), which passes them in
 * the order they are defined in (name order).
 */
export function parsePipelineFiles(files: ReadonlyArray<PipelineFileText>, options: ParsePipelineFilesOptions): PipelineDefinition[] {
  const problems: PipelineFileProblem[] = [];
  const parsed = files.map((f) => parseFile(f, problems));
  problems.push(...nameProblems(parsed, options.builtIn), ...chainProblems(parsed, options.builtIn, options.dir));
  if (problems.length > 0) throw new InvalidPipelineFilesError(options.dir, byFile(problems, files.map((f) => f.name)));
  return parsed.flatMap((f) => (f.pipeline ? [f.pipeline] : []));
}

/** `problems` file by file, in the order of `files` (stable: each file's own problems in the order found). */
function byFile(problems: readonly PipelineFileProblem[], files: readonly string[]): PipelineFileProblem[] {
  const order = new Map(files.map((f, i) => [f, i]));
  return [...problems].sort((a, b) => (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1));
}

/** Parses and checks one file; its problems go to `problems`. */
function parseFile({ name: file, text }: PipelineFileText, problems: PipelineFileProblem[]): ParsedFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const { line, col } = lines.linePos(error.pos[0]);
      const message =
        error.code === 'MULTIPLE_DOCS'
          ? 'holds several YAML documents: one pipeline per file'
          : `YAML syntax error: ${error.message}`;
      problems.push({ file, path: '', line, column: col, message });
    }
    return { file };
  }
  if (!isMap(doc.contents)) {
    const found =
      doc.contents === null ? 'the file is empty' : `found ${isSeq(doc.contents) ? 'a list' : 'a single value'}`;
    problems.push({
      file,
      path: '',
      ...position(doc, lines, []),
      message: `${found}: a pipeline file holds one pipeline, a mapping of its fields (name, trigger, steps, ...)`,
    });
    return { file };
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (e) {
    // Only the alias limits can fail here (the document parsed): a file that expands beyond reason.
    problems.push({ file, path: '', message: e instanceof Error ? e.message : String(e) });
    return { file };
  }
  const declared = raw as { name?: unknown; trigger?: { pipelines?: unknown } };
  const chainedAfter = declared.trigger?.pipelines;
  const parsed: ParsedFile = {
    file,
    doc,
    lines,
    ...(typeof declared.name === 'string' ? { name: declared.name } : {}),
    ...(Array.isArray(chainedAfter)
      ? { chainedAfter: chainedAfter.map((p: unknown) => (typeof p === 'string' && p !== '' ? p : undefined)) }
      : {}),
  };
  try {
    return { ...parsed, pipeline: definePipeline(raw) };
  } catch (e) {
    if (!(e instanceof InvalidPipelineError)) throw e;
    for (const issue of e.issues) problems.push(problemAt(parsed, issue.path, issue.message));
    return parsed;
  }
}

/** A name is one pipeline's: not a built-in's, not an earlier file's. */
function nameProblems(files: readonly ParsedFile[], builtIn: readonly PipelineDefinition[]): PipelineFileProblem[] {
  const problems: PipelineFileProblem[] = [];
  const builtInNames = new Set(builtIn.map((p) => p.name));
  const firstFile = new Map<string, string>();
  for (const f of files) {
    if (f.name === undefined) continue;
    if (builtInNames.has(f.name))
      problems.push(problemAt(f, ['name'], `pipeline "${f.name}" is a built-in pipeline: give this one another name`));
    else if (firstFile.has(f.name))
      problems.push(problemAt(f, ['name'], `pipeline "${f.name}" is also defined in ${firstFile.get(f.name)}`));
    else firstFile.set(f.name, f.file);
  }
  return problems;
}

/** Every chained pipeline exists, and no chain leads back to where it started. */
function chainProblems(
  files: readonly ParsedFile[],
  builtIn: readonly PipelineDefinition[],
  dir: string | undefined,
): PipelineFileProblem[] {
  const problems: PipelineFileProblem[] = [];
  const known = new Set([
    ...builtIn.map((p) => p.name),
    ...files.flatMap((f) => (f.name === undefined ? [] : [f.name])),
  ]);
  const elsewhere = dir === undefined ? 'a pipeline file' : `a file of ${dir}`;
  for (const f of files) {
    // Checked on invalid files too, so one start shows every problem.
    f.chainedAfter?.forEach((name, i) => {
      if (name !== undefined && !known.has(name))
        problems.push(
          problemAt(f, ['trigger', 'pipelines', i], `unknown pipeline "${name}" (neither built in nor defined in ${elsewhere})`),
        );
    });
  }
  const fileOf = new Map(files.flatMap((f) => (f.pipeline ? [[f.pipeline.name, f] as const] : [])));
  // A pipeline's run starts after a run of each of its trigger.pipelines succeeded.
  const after = new Map<string, readonly string[]>();
  for (const p of [...builtIn, ...files.flatMap((f) => (f.pipeline ? [f.pipeline] : []))])
    after.set(p.name, p.trigger.pipelines);
  const order = files.map((f) => f.name);
  for (const cycle of chainCycles(after)) {
    // Reported once, in the first file of the cycle, at the trigger that closes it.
    const members = cycle.slice(0, -1).filter((n) => fileOf.has(n));
    if (members.length === 0) continue;
    const first = members.reduce((a, b) => (order.indexOf(a) <= order.indexOf(b) ? a : b));
    const start = cycle.indexOf(first);
    const rotated = [...cycle.slice(start, -1), ...cycle.slice(0, start), first];
    const f = fileOf.get(first)!;
    const i = f.pipeline!.trigger.pipelines.indexOf(rotated[1]!);
    // `rotated` runs against the chain (each waits for the next); people read chains forwards.
    problems.push(
      problemAt(
        f,
        ['trigger', 'pipelines', i],
        `chaining cycle ${[...rotated].reverse().join(' -> ')}: each run would start the next, forever`,
      ),
    );
  }
  return problems;
}

/** Cycles of the "runs after" graph, each as [a, b, ..., a]; one per set of pipelines. */
function chainCycles(after: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const cycles = new Map<string, string[]>();
  const visit = (n: string): void => {
    state.set(n, 'visiting');
    stack.push(n);
    for (const next of after.get(n) ?? []) {
      if (state.get(next) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        cycles.set([...new Set(cycle)].sort().join('\n'), cycle);
      } else if (!state.has(next) && after.has(next)) visit(next);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of after.keys()) if (!state.has(n)) visit(n);
  return [...cycles.values()];
}

function problemAt(f: ParsedFile, path: ReadonlyArray<string | number>, message: string): PipelineFileProblem {
  return { file: f.file, path: path.join('.'), ...(f.doc && f.lines ? position(f.doc, f.lines, path) : {}), message };
}

/**
 * Where `path` is written: the value when it is a scalar (the offending text), else the key that
 * holds it; a path that is not there (a missing field) points at the nearest enclosing node.
 */
function position(
  doc: Document,
  lines: LineCounter,
  path: ReadonlyArray<string | number>,
): { line?: number; column?: number } {
  let node: unknown = doc.contents;
  let at: number | undefined = rangeStart(node);
  for (const [i, key] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      node = pair.value;
      const last = i === path.length - 1;
      at = rangeStart(last && !isScalar(pair.value) ? pair.key : pair.value) ?? rangeStart(pair.key) ?? at;
    } else if (isSeq(node) && typeof key === 'number' && key < node.items.length) {
      node = node.items[key];
      at = rangeStart(node) ?? at;
    } else break;
  }
  if (at === undefined) return {};
  const { line, col } = lines.linePos(at);
  return { line, column: col };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}
