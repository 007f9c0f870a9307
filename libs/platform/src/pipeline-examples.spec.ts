import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILT_IN_PIPELINES } from '@nightshift/jobs-domain';
import { describe, expect, it } from 'vitest';
import { formatPipelineFileProblem, InvalidPipelineFilesError } from './errors.js';
import { loadPipelineFiles, PIPELINE_FILE_EXTENSIONS } from './pipeline-files.js';

/*
 * The examples of docs/pipelines.md cannot rot: every file of docs/examples/pipelines loads as
 * nightshift loads a pipelines directory (beside the built-in pipelines), and every YAML block of
 * the page that is a pipeline (a ```yaml block starting with `name:`) is one of those files, byte
 * for byte, and the other way round.
 */

const EXAMPLES_DIR = fileURLToPath(new URL('../../../docs/examples/pipelines/', import.meta.url));
const DOC = fileURLToPath(new URL('../../../docs/pipelines.md', import.meta.url));

/** The example files, by name, as their text. */
function exampleFiles(): Map<string, string> {
  const names = readdirSync(EXAMPLES_DIR).filter((n) => PIPELINE_FILE_EXTENSIONS.some((ext) => n.endsWith(ext))).sort();
  return new Map(names.map((n) => [n, readFileSync(join(EXAMPLES_DIR, n), 'utf8')]));
}

/** The text of every ```yaml block of `markdown` (each line up to the closing fence, each ending in a newline), with the line its fence opens on. */
function yamlBlocks(markdown: string): Array<{ line: number; text: string }> {
  const lines = markdown.split('\n');
  const blocks: Array<{ line: number; text: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trimEnd() !== '```yaml') continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]!.trimEnd() !== '```'; i++) body.push(lines[i]!);
    if (i === lines.length) throw new Error(`docs/pipelines.md: the yaml block opened on line ${start + 1} is never closed`);
    blocks.push({ line: start + 1, text: body.map((l) => `${l}\n`).join('') });
  }
  return blocks;
}

describe('docs/examples/pipelines', () => {
  it('holds example files', () => {
    expect(exampleFiles().size).toBeGreaterThan(0);
  });

  it('loads as a pipelines directory beside the built-in pipelines, every file a pipeline of its own', () => {
    let loaded;
    try {
      loaded = loadPipelineFiles(EXAMPLES_DIR, { builtIn: BUILT_IN_PIPELINES, required: true });
    } catch (e) {
      // Every problem, with its file and line, rather than the first one.
      if (e instanceof InvalidPipelineFilesError) expect.fail(e.problems.map(formatPipelineFileProblem).join('\n'));
      throw e;
    }
    const files = exampleFiles();
    expect(loaded).toHaveLength(files.size);
    // Each file is named after its pipeline, so the page and the directory are easy to match up.
    expect(loaded.map((p) => `${p.name}.yaml`).sort()).toEqual([...files.keys()].sort());
  });
});

describe('docs/pipelines.md', () => {
  const markdown = readFileSync(DOC, 'utf8');
  const pipelineBlocks = yamlBlocks(markdown).filter((b) => b.text.startsWith('name:'));

  it('shows pipelines', () => {
    expect(pipelineBlocks.length).toBeGreaterThan(0);
  });

  it('shows every pipeline exactly as its example file holds it', () => {
    const files = exampleFiles();
    const byText = new Map([...files].map(([name, text]) => [text, name]));
    const strays = pipelineBlocks.filter((b) => !byText.has(b.text));
    expect(
      strays.map((b) => {
        const name = /^name:\s*(\S+)/.exec(b.text)?.[1] ?? '?';
        const file = `${name}.yaml`;
        return files.has(file)
          ? `the block on line ${b.line} (${name}) differs from docs/examples/pipelines/${file}`
          : `the block on line ${b.line} (${name}) is in no file of docs/examples/pipelines`;
      }),
    ).toEqual([]);
  });

  it('shows every example file', () => {
    const shown = new Set(pipelineBlocks.map((b) => b.text));
    expect([...exampleFiles()].filter(([, text]) => !shown.has(text)).map(([name]) => name)).toEqual([]);
  });
});
