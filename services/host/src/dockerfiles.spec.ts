import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Keeps the root Dockerfile honest without a Docker engine: it is parsed here and checked against
 * the repository (workspaces, lock file, entrypoints), so a new workspace, a renamed service or a
 * stage edited out of shape fails the suite instead of the first image build.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');

/** The deployables: one build target each, running `services/<name>/dist/main.js`. */
const TARGETS = ['ingestion', 'planner', 'reporting', 'worker'] as const;

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  name: string;
  /** The image or earlier stage it starts from, build args substituted. */
  base: string;
  instructions: Instruction[];
}

interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Map<string, string>;
  stages: Stage[];
}

/** Instructions of a Dockerfile: continuation lines joined, comments and blank lines dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') continue;
    const match = /^(\S+)\s*(.*)$/s.exec(full)!;
    out.push({ keyword: match[1].toUpperCase(), args: match[2].trim() });
  }
  return out;
}

function substitute(value: string, args: Map<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args.get((a ?? b)!) ?? '');
}

function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions(text)) {
    if (ins.keyword === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!match) throw new Error(`cannot read FROM ${ins.args}`);
      stages.push({ name: match[2] ?? String(stages.length), base: substitute(match[1], globalArgs), instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`${ins.keyword} before the first FROM`);
      const [name, value = ''] = ins.args.split('=', 2);
      globalArgs.set(name, value);
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** A COPY's `--from`, sources and destination (shell or JSON form). */
function parseCopy(args: string): { from?: string; sources: string[]; dest: string } {
  let rest = args;
  let from: string | undefined;
  for (let flag = /^--(\w[\w-]*)(?:=(\S+))?\s+/.exec(rest); flag; flag = /^--(\w[\w-]*)(?:=(\S+))?\s+/.exec(rest)) {
    if (flag[1] === 'from') from = flag[2];
    rest = rest.slice(flag[0].length);
  }
  const parts = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { from, sources: parts.slice(0, -1), dest: parts.at(-1)! };
}

/** An exec-form (JSON) CMD/ENTRYPOINT/HEALTHCHECK argv; anything else is a shell string, which we do not write. */
function execForm(args: string): string[] {
  const json = args.replace(/^(?:--\S+\s+)*CMD\s+/i, '');
  expect(json, `not exec (JSON) form, Docker would run it through a shell: ${args}`).toMatch(/^\[/);
  return JSON.parse(json) as string[];
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const stageNamed = (name: string): Stage => {
  const stage = dockerfile.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  return stage;
};
/** The stage and the stages it starts from, oldest first. */
function lineage(stage: Stage): Stage[] {
  const parent = dockerfile.stages.slice(0, dockerfile.stages.indexOf(stage)).find((s) => s.name === stage.base);
  return parent ? [...lineage(parent), stage] : [stage];
}
const inherited = (stage: Stage, keyword: string): Instruction[] => lineage(stage).flatMap((s) => s.instructions.filter((i) => i.keyword === keyword));
const npmCi = (stage: Stage): string[] => inherited(stage, 'RUN').map((i) => i.args).filter((a) => /\bnpm ci\b/.test(a));

/** Stages no other stage starts from or copies from: what `--target` builds into an image. */
const leaves = dockerfile.stages.filter(
  (s) => !dockerfile.stages.some((o) => o.base === s.name || o.instructions.some((i) => i.keyword === 'COPY' && parseCopy(i.args).from === s.name)),
);

/** Workspace folders holding a package.json, by expanding package.json's `workspaces` globs (`*` per segment). */
function workspaceDirs(): string[] {
  const patterns = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
  const expand = (prefix: string, segments: string[]): string[] => {
    if (segments.length === 0) return existsSync(`${root}${prefix}/package.json`) ? [prefix] : [];
    const [head, ...tail] = segments;
    if (head !== '*') return expand(prefix ? `${prefix}/${head}` : head, tail);
    if (!existsSync(`${root}${prefix}`)) return [];
    return readdirSync(`${root}${prefix}`, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'node_modules')
      .flatMap((e) => expand(`${prefix}/${e.name}`, tail));
  };
  return patterns.flatMap((p) => expand('', p.split('/')));
}

/** Workspace folders package-lock.json installs (its non-node_modules package entries). */
function lockedWorkspaceDirs(): string[] {
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, unknown> };
  return Object.keys(lock.packages).filter((k) => k !== '' && !k.split('/').includes('node_modules'));
}

describe('Dockerfile', () => {
  it('is multi-stage, from a glibc node:20 image (DuckDB has no prebuilt binary for musl/alpine here)', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(4);
    const names = dockerfile.stages.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const stage of dockerfile.stages) {
      if (names.includes(stage.base)) continue;
      expect(stage.base, `stage ${stage.name}`).toMatch(/^node:20(\.\d+)*-bookworm(-slim)?(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('installs every dependency in the deps stage with npm ci --ignore-scripts, and builds from it with tsc -b', () => {
    const deps = stageNamed('deps');
    expect(npmCi(deps)).toHaveLength(1);
    expect(npmCi(deps)[0]).toContain('--ignore-scripts');
    expect(npmCi(deps)[0]).not.toContain('--omit=dev');
    const build = stageNamed('build');
    expect(lineage(build).map((s) => s.name)).toContain('deps');
    expect(inherited(build, 'RUN').some((i) => /\btsc -b (tsconfig\.build\.json|services\/\w+\/tsconfig\.lib\.json)\b/.test(i.args))).toBe(true);
  });

  it('copies the lock file and every workspace package.json into the deps stage before npm ci', () => {
    const copied = new Map<string, string>();
    for (const ins of inherited(stageNamed('deps'), 'COPY')) {
      const { from, sources, dest } = parseCopy(ins.args);
      if (from !== undefined) continue;
      for (const source of sources) copied.set(source, dest);
    }
    expect(copied.get('package.json')).toMatch(/^\.\/?$/);
    expect(copied.get('package-lock.json')).toMatch(/^\.\/?$/);
    const workspaces = [...new Set([...workspaceDirs(), ...lockedWorkspaceDirs()])].sort();
    expect(workspaces).toEqual(expect.arrayContaining(TARGETS.map((t) => `services/${t}`)));
    for (const dir of workspaces) {
      expect(copied.get(`${dir}/package.json`)?.replace(/\/$/, ''), `${dir}/package.json copied to ${dir}/`).toBe(dir);
    }
    // A COPY of a file that is gone fails the build: the list may not go stale either.
    for (const source of copied.keys()) expect(existsSync(`${root}${source}`), source).toBe(true);
  });

  it('names an earlier stage in every COPY --from', () => {
    const froms = dockerfile.stages.flatMap((s, index) =>
      s.instructions.filter((i) => i.keyword === 'COPY').map((i) => ({ index, from: parseCopy(i.args).from })),
    );
    expect(froms.some((f) => f.from !== undefined)).toBe(true);
    for (const { index, from } of froms) {
      if (from === undefined) continue;
      expect(dockerfile.stages.slice(0, index).map((s) => s.name), `COPY --from=${from}`).toContain(from);
    }
  });

  it('has one target per deployable, non-root, production mode, with production dependencies only', () => {
    expect(leaves.map((s) => s.name).sort()).toEqual([...TARGETS].sort());
    for (const target of leaves) {
      const user = inherited(target, 'USER').at(-1)?.args;
      expect(user, `${target.name}: USER`).toBeDefined();
      expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/);
      const env = inherited(target, 'ENV').map((i) => i.args).join(' ');
      expect(env).toMatch(/\bNODE_ENV=production\b/);
      expect(env).toMatch(/\bNIGHTSHIFT_MODE=aws\b/);
      const modules = inherited(target, 'COPY').map((i) => parseCopy(i.args)).filter((c) => c.sources.some((s) => /(^|\/)node_modules\/?$/.test(s)));
      expect(modules, `${target.name}: one node_modules`).toHaveLength(1);
      const source = stageNamed(modules[0].from!);
      expect(npmCi(source)).toHaveLength(1);
      expect(npmCi(source)[0]).toMatch(/--omit=dev\b/);
      expect(npmCi(source)[0]).toContain('--ignore-scripts');
    }
  });

  it('runs, in each target, services/<target>/dist/main.js, built from an existing src/main.ts', () => {
    for (const target of leaves) {
      const argv = [...inherited(target, 'ENTRYPOINT'), ...inherited(target, 'CMD')].flatMap((i) => execForm(i.args));
      const entrypoints = argv.filter((a) => /^services\/[^/]+\/dist\/main\.js$/.test(a));
      expect(entrypoints, target.name).toEqual([`services/${target.name}/dist/main.js`]);
      for (const path of entrypoints) expect(existsSync(`${root}${path.replace('/dist/main.js', '/src/main.ts')}`), path).toBe(true);
    }
  });

  it("gives the worker its whole argv as CMD, which AWS Batch's command replaces with the planner's", () => {
    const worker = stageNamed('worker');
    // Batch overrides CMD only; the planner submits `node services/worker/dist/main.js run-task` (a full argv).
    expect(inherited(worker, 'ENTRYPOINT')).toEqual([]);
    expect(execForm(inherited(worker, 'CMD').at(-1)!.args)).toEqual(['node', 'services/worker/dist/main.js', 'run-task']);
  });

  it('copies the pipeline files into the planner and reporting only, at /app/pipelines, from a build argument', () => {
    // /app/pipelines is infra's IMAGE_PIPELINES_DIR, their NIGHTSHIFT_PIPELINES_DIR; the CDK app passes
    // the directory its synth read as NIGHTSHIFT_PIPELINES_SOURCE.
    const pipelineCopies = (stage: Stage) =>
      inherited(stage, 'COPY').map((i) => parseCopy(i.args)).filter((c) => c.from === undefined && c.dest.replace(/\/$/, '') === 'pipelines');
    for (const target of leaves) {
      if (target.name !== 'planner' && target.name !== 'reporting') {
        expect(pipelineCopies(target), target.name).toEqual([]);
        continue;
      }
      expect(pipelineCopies(target).map((c) => c.sources), target.name).toEqual([['${NIGHTSHIFT_PIPELINES_SOURCE}']]);
      expect(inherited(target, 'WORKDIR').at(-1)?.args).toBe('/app');
      // By default a pattern: BuildKit copies the root pipelines/ directory, or nothing when there is none.
      expect(inherited(target, 'ARG').map((i) => i.args)).toContain('NIGHTSHIFT_PIPELINES_SOURCE=pipeline[s]');
    }
  });

  it("health-checks reporting's /health on the port it listens on, in the container on every interface", () => {
    const reporting = stageNamed('reporting');
    const env = inherited(reporting, 'ENV').map((i) => i.args).join(' ');
    expect(env).toMatch(/\bNIGHTSHIFT_HTTP_HOST=0\.0\.0\.0\b/);
    const port = /\bNIGHTSHIFT_HTTP_PORT=(\d+)\b/.exec(env)?.[1];
    expect(inherited(reporting, 'EXPOSE').map((i) => i.args)).toContain(port);
    const check = execForm(inherited(reporting, 'HEALTHCHECK').at(-1)!.args);
    expect(check.slice(0, 2)).toEqual(['node', '-e']);
    expect(check[2]).toContain('process.env.NIGHTSHIFT_HTTP_PORT}/health');
    expect(check[2]).toMatch(/process\.exit\(r\.ok \? 0 : 1\)/);
  });

  it('keeps node_modules, dist/ and build info out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '**/*.tsbuildinfo', '.git', '.nightshift']));
  });
});
