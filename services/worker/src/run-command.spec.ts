import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ManifestEntry, StepManifest } from '@nightshift/jobs-domain';
import { readTraceFile, runSpanId, runTraceId } from '@nightshift/observability';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '@nightshift/storage-aws';
import type { ObjectStore } from '@nightshift/storage-domain';
import { DirectoryObjectStore, S3HttpEndpoint } from '@nightshift/storage-local';
import { loadWorkerConfig } from './config.js';
import { CommandFailedError, CommandNotStartedError, CommandResultError, WorkerUsageError } from './errors.js';
import { workerLogger, type LogStream } from './log.js';
import { runCommand, type CommandOutput } from './run-command.js';

/*
 * The worker as a command step's child runs it: a step manifest and landed files in a real
 * directory object store, real programs (`sh`, `node`) as the user's command, the output document
 * read back from the store. The last block starts the built entrypoint, as the compute environment does.
 */

const FILLS = 'landing/d1/EQ1/fills.csv';
const QUOTES = 'landing/d1/quotes.csv';
const FILLS_CSV = 'fill_id,qty\nf1,100\nf2,250\n';
const MANIFEST = 'runs/r1/custom/manifest.json';
const OUTPUT = 'runs/r1/custom/partition=EQ1/result.json';
const INHERITED_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const anEntry = (overrides: Partial<ManifestEntry> = {}): ManifestEntry => ({
  arrayIndex: 0,
  taskId: 'custom#EQ1',
  partition: 'EQ1',
  inputs: { fills: [FILLS], quotes: [QUOTES] },
  sharedInputs: { quotes: [QUOTES] },
  outputKey: OUTPUT,
  ...overrides,
});

const aManifest = (overrides: Partial<StepManifest> = {}): StepManifest => ({
  runId: 'r1',
  step: 'custom',
  analytic: 'command',
  datasetId: 'd1@2024-03-15#v1',
  businessDate: '2024-03-15',
  entries: [anEntry()],
  ...overrides,
});

/** The message of one of the worker's own JSON lines, or undefined for a line of the command's. */
function ownMessage(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  const parsed = JSON.parse(line) as { service?: string; msg?: string };
  return parsed.service === 'nightshift-worker' ? parsed.msg : undefined;
}

/**
 * A log stream that keeps its lines as written (`raw`): the worker's own JSON lines and the
 * command's; `lines` has each JSON line's message instead, and it can wait for a line.
 */
class CollectedLog implements LogStream {
  readonly raw: string[] = [];
  private readonly waiting: Array<{ text: string; resolve: () => void }> = [];

  get lines(): string[] {
    return this.raw.map((line) => ownMessage(line) ?? line);
  }

  /** The worker's own lines, parsed. */
  get own(): Array<Record<string, unknown>> {
    return this.raw.filter((line) => ownMessage(line) !== undefined).map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  write(chunk: string): boolean {
    for (const line of chunk.split('\n').slice(0, -1)) {
      this.raw.push(line);
      for (const w of this.waiting.filter((w) => w.text === (ownMessage(line) ?? line))) w.resolve();
    }
    return true;
  }

  waitFor(text: string): Promise<void> {
    return this.lines.includes(text)
      ? Promise.resolve()
      : new Promise((resolve) => this.waiting.push({ text, resolve }));
  }
}

let root: string;
let store: DirectoryObjectStore;
let stores = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'worker-command-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
// A store of its own per test: an output key no other test can have written.
beforeEach(async () => {
  store = new DirectoryObjectStore(join(root, `objects-${++stores}`));
  await store.put(FILLS, FILLS_CSV);
  await store.put(QUOTES, 'symbol,bid,ask\nAAA,1,2\n');
});

interface Ran {
  output?: CommandOutput;
  error?: unknown;
  stdout: CollectedLog;
  stderr: CollectedLog;
}

/** Runs `argv` as child 0 of `manifest`, as `run-command` does, with a worker environment that has a few variables of its own. */
async function run(
  argv: string[],
  options: { manifest?: StepManifest; stop?: AbortSignal; stdout?: CollectedLog; objects?: ObjectStore } = {},
): Promise<Ran> {
  const objects = options.objects ?? store;
  await objects.put(MANIFEST, JSON.stringify(options.manifest ?? aManifest()));
  const config = loadWorkerConfig({
    NIGHTSHIFT_MANIFEST_KEY: MANIFEST,
    NIGHTSHIFT_OBJECT_STORE_DIR: join(root, 'unused'),
    NIGHTSHIFT_ARRAY_INDEX: '0',
    // The job's TRACEPARENT, which the worker's environment below has too.
    TRACEPARENT: INHERITED_TRACEPARENT,
  });
  const ran: Ran = { stdout: options.stdout ?? new CollectedLog(), stderr: new CollectedLog() };
  const env = {
    PATH: process.env['PATH']!,
    AWS_BATCH_JOB_ARRAY_INDEX: '0',
    FROM_THE_STEP: 'yes',
    TRACEPARENT: INHERITED_TRACEPARENT,
    // Left over in the worker's own environment: the command must not take them for its own.
    NIGHTSHIFT_UPSTREAM_DIR: '/stale',
    NIGHTSHIFT_PARAMETERS: '{"stale":true}',
  };
  try {
    ran.output = (
      await runCommand(config, objects, { argv, env, stdout: ran.stdout, stderr: ran.stderr, log: workerLogger(ran.stdout, ran.stderr), stop: options.stop })
    ).output;
  } catch (e) {
    ran.error = e;
  }
  return ran;
}

const published = async (key = OUTPUT): Promise<unknown> =>
  JSON.parse(Buffer.from(await store.get(key)).toString('utf8'));
const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );
/** A program's wait to be stopped: at most 30 s, so a failed test leaves no process behind for long. */
const UNTIL_STOPPED = 'setTimeout(() => process.exit(9), 30_000);';
/** A `node -e` command: the user's program written in JavaScript. */
const node = (script: string): string[] => [process.execPath, '-e', script];

describe('run-command', () => {
  it('gives the command its entry and inputs in its scratch directory, publishes its result.json and removes the directory', async () => {
    const script = [
      'set -eu',
      'fills=$(($(wc -l < "$NIGHTSHIFT_INPUT_DIR/fills/fills.csv")))',
      'quotes=$(ls "$NIGHTSHIFT_INPUT_DIR/quotes")',
      // The command owns its copy of the inputs: changing one must not change the store's object.
      'echo f3,1 >> "$NIGHTSHIFT_INPUT_DIR/fills/fills.csv"',
      'printf \'{"entry":%s,"fills":%d,"quotes":"%s","cwd":"%s","inputDir":"%s","upstream":"%s","parameters":"%s"}\' \\',
      '  "$(cat "$NIGHTSHIFT_ENTRY_FILE")" "$fills" "$quotes" "$PWD" "$NIGHTSHIFT_INPUT_DIR" \\',
      '  "${NIGHTSHIFT_UPSTREAM_DIR-unset}" "${NIGHTSHIFT_PARAMETERS-unset}" > "$NIGHTSHIFT_OUTPUT_DIR/result.json"',
    ].join('\n');
    const argv = ['sh', '-c', script];
    const { output, error } = await run(argv);
    expect(error).toBeUndefined();
    const result = output!.result as { cwd: string; inputDir: string };
    expect(result).toEqual({
      entry: anEntry(),
      fills: 3,
      quotes: 'quotes.csv',
      cwd: result.cwd,
      inputDir: join(result.cwd, 'inputs'),
      upstream: 'unset',
      parameters: 'unset',
    });
    expect(await published()).toEqual({
      analytic: 'command',
      step: 'custom',
      partition: 'EQ1',
      result,
      command: { argv, exitCode: 0 },
    });
    expect(await exists(result.cwd)).toBe(false);
    expect(Buffer.from(await store.get(FILLS)).toString('utf8')).toBe(FILLS_CSV);
  });

  it('publishes a null result when the command writes no result.json', async () => {
    const { output, error, stdout } = await run(['true']);
    expect(error).toBeUndefined();
    expect(await published()).toEqual({
      analytic: 'command',
      step: 'custom',
      partition: 'EQ1',
      result: null,
      command: { argv: ['true'], exitCode: 0 },
    });
    expect(output?.result).toBeNull();
    expect(stdout.lines).toContain('command exited with code 0');
  });

  it("fails with the command's own exit code, publishes nothing and removes the scratch directory", async () => {
    const { error, stdout, stderr } = await run([
      'sh',
      '-c',
      'echo "{}" > "$NIGHTSHIFT_OUTPUT_DIR/result.json"; echo "$PWD"; exit 3',
    ]);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error).toMatchObject({ exitCode: 3, signal: undefined });
    expect(stderr.lines).toContain('command exited with code 3');
    expect(await store.head(OUTPUT)).toBeUndefined();
    const cwd = stdout.lines.find((l) => l.startsWith(tmpdir()))!;
    expect(await exists(cwd)).toBe(false);
  });

  it('fails with 128 + the signal number when a signal ends the command', async () => {
    const { error, stderr } = await run(['sh', '-c', 'kill -KILL $$']);
    expect(error).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
    expect(stderr.lines).toContain('command exited with code 137 (SIGKILL)');
    expect(await store.head(OUTPUT)).toBeUndefined();
  });

  it('fails with exit code 2, naming the file, when result.json is not JSON', async () => {
    const { error } = await run(['sh', '-c', 'echo "{not json" > "$NIGHTSHIFT_OUTPUT_DIR/result.json"']);
    expect(error).toBeInstanceOf(CommandResultError);
    expect(error).toMatchObject({ exitCode: 2, retryable: false });
    expect((error as Error).message).toMatch(
      /^the command wrote \$NIGHTSHIFT_OUTPUT_DIR\/result\.json, which is not JSON: /,
    );
    expect(await store.head(OUTPUT)).toBeUndefined();
  });

  it("stages a chained run's upstream output documents as upstream/<step>/<partition>.json", async () => {
    const documents = {
      EQ1: { analytic: 'tca', step: 'tca', partition: 'EQ1', result: { fills: 2 } },
      EQ2: { analytic: 'tca', step: 'tca', partition: 'EQ2', result: { fills: 5 } },
    };
    for (const [partition, doc] of Object.entries(documents))
      await store.put(`runs/up/tca/partition=${partition}/result.json`, JSON.stringify(doc));
    await store.put(
      'runs/up/outputs.json',
      JSON.stringify({
        runId: 'up',
        outputs: Object.keys(documents).map((p) => ({
          step: 'tca',
          partition: p,
          key: `runs/up/tca/partition=${p}/result.json`,
        })),
      }),
    );
    const manifest = aManifest({
      upstream: { pipeline: 'first-stage', runId: 'up', outputsKey: 'runs/up/outputs.json' },
    });
    const { output, error, stdout } = await run(
      [
        'sh',
        '-c',
        'ls "$NIGHTSHIFT_UPSTREAM_DIR/tca"; cat "$NIGHTSHIFT_UPSTREAM_DIR/tca/EQ2.json" > "$NIGHTSHIFT_OUTPUT_DIR/result.json"',
      ],
      { manifest },
    );
    expect(error).toBeUndefined();
    expect(stdout.lines).toEqual(expect.arrayContaining(['EQ1.json', 'EQ2.json']));
    expect(output?.result).toEqual(documents.EQ2);
  });

  it("passes the worker's environment on, with nightshift's variables and the entry's parameters as JSON", async () => {
    const manifest = aManifest({ entries: [anEntry({ parameters: { window: 20, adjusted: true } })] });
    const keep = ['NIGHTSHIFT_', 'AWS_BATCH_', 'FROM_THE_STEP', 'TRACEPARENT'];
    const script = `const env = Object.entries(process.env).filter(([k]) => ${JSON.stringify(keep)}.some((p) => k.startsWith(p)));
      require('fs').writeFileSync(process.env.NIGHTSHIFT_OUTPUT_DIR + '/result.json', JSON.stringify(Object.fromEntries(env)));`;
    const { output, error } = await run(node(script), { manifest });
    expect(error).toBeUndefined();
    const env = output!.result as Record<string, string>;
    const scratch = join(env['NIGHTSHIFT_ENTRY_FILE']!, '..');
    expect(env).toEqual({
      NIGHTSHIFT_RUN_ID: 'r1',
      NIGHTSHIFT_STEP: 'custom',
      NIGHTSHIFT_PARTITION: 'EQ1',
      NIGHTSHIFT_BUSINESS_DATE: '2024-03-15',
      NIGHTSHIFT_DATASET_ID: 'd1@2024-03-15#v1',
      NIGHTSHIFT_ENTRY_FILE: join(scratch, 'entry.json'),
      NIGHTSHIFT_INPUT_DIR: join(scratch, 'inputs'),
      NIGHTSHIFT_OUTPUT_DIR: join(scratch, 'output'),
      NIGHTSHIFT_PARAMETERS: '{"window":20,"adjusted":true}',
      AWS_BATCH_JOB_ARRAY_INDEX: '0',
      FROM_THE_STEP: 'yes',
      // No tracing runs in this test, so the worker's span has no ids: the inherited context stays.
      TRACEPARENT: INHERITED_TRACEPARENT,
    });
  });

  it('exits 127 for a program that does not exist and 126 for one that is not executable, naming it', async () => {
    const missing = await run(['nightshift-no-such-program', '--flag']);
    expect(missing.error).toBeInstanceOf(CommandNotStartedError);
    expect(missing.error).toMatchObject({ exitCode: 127, program: 'nightshift-no-such-program' });
    expect((missing.error as Error).message).toMatch(/^cannot start "nightshift-no-such-program": not found \(ENOENT/);
    const script = join(root, 'not-executable.sh');
    await writeFile(script, '#!/bin/sh\nexit 0\n');
    await chmod(script, 0o644);
    const denied = await run([script]);
    expect(denied.error).toMatchObject({ exitCode: 126, program: script });
    expect(await store.head(OUTPUT)).toBeUndefined();
  });

  it("forwards the command's stdout and stderr lines to the worker's as written, a last line without newline too", async () => {
    const { stdout, stderr } = await run(['sh', '-c', 'echo one; echo two >&2; echo; printf three']);
    // As written: the job's log stamps each line with the time it reads it (the compute environment, or CloudWatch Logs').
    expect(stdout.raw.filter((l) => ownMessage(l) === undefined)).toEqual(['one', '', 'three']);
    expect(stderr.raw.filter((l) => ownMessage(l) === undefined)).toEqual(['two']);
    // The worker's own lines are JSON, at info on stdout, with the job and the command.
    expect(stdout.own).toEqual([
      expect.objectContaining({ level: 'info', service: 'nightshift-worker', argv: ['sh', '-c', 'echo one; echo two >&2; echo; printf three'], msg: expect.stringMatching(/^running \[/) }),
      expect.objectContaining({ level: 'info', exit_code: 0, msg: 'command exited with code 0' }),
      expect.objectContaining({ level: 'info', output_key: OUTPUT, msg: `wrote ${OUTPUT}` }),
    ]);
    expect(stderr.own).toEqual([]);
  });

  it('sends SIGTERM to the command when the job is stopped, and fails with the code it then exits with', async () => {
    const stop = new AbortController();
    const stdout = new CollectedLog();
    const running = run(
      node(
        `process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(7); }); console.log('ready'); ${UNTIL_STOPPED}`,
      ),
      {
        stop: stop.signal,
        stdout,
      },
    );
    await stdout.waitFor('ready');
    stop.abort();
    const { error } = await running;
    expect(error).toMatchObject({ exitCode: 7 });
    expect(stdout.lines).toContain('got SIGTERM');
  });

  it('does not start the command once the job is being stopped', async () => {
    const stop = new AbortController();
    stop.abort();
    const { error, stdout } = await run(['sh', '-c', 'echo started'], { stop: stop.signal });
    expect(error).toMatchObject({ exitCode: 143, signal: 'SIGTERM' });
    expect(stdout.lines).not.toContain('started');
  });

  it('ends when the command exits, even if a process it left in the background holds its output', async () => {
    const { output, stdout } = await run(['sh', '-c', 'sleep 60 & echo $!']);
    process.kill(Number(stdout.lines.find((l) => /^\d+$/.test(l))), 'SIGKILL');
    expect(output?.result).toBeNull();
  });

  it('keeps inputs of one table that share a file name apart, by their paths below what their keys share', async () => {
    await store.put('landing/d2/EQ1/fills.csv', FILLS_CSV);
    const { error, stdout } = await run(['sh', '-c', 'cd "$NIGHTSHIFT_INPUT_DIR" && find fills -type f | sort'], {
      manifest: aManifest({ entries: [anEntry({ inputs: { fills: [FILLS, 'landing/d2/EQ1/fills.csv'] } })] }),
    });
    expect(error).toBeUndefined();
    expect(stdout.lines).toEqual(expect.arrayContaining(['fills/d1/EQ1/fills.csv', 'fills/d2/EQ1/fills.csv']));
  });

  it('refuses, before running anything, a step that is not a command, an entry without output key', async () => {
    const refused = async (manifest: StepManifest): Promise<unknown> => {
      const { error, stdout } = await run(['sh', '-c', 'echo ran'], { manifest });
      expect(stdout.lines).not.toContain('ran');
      return error;
    };
    expect(await refused(aManifest({ analytic: 'tca' }))).toEqual(
      new WorkerUsageError('step custom runs the analytic "tca": start the worker with run-task'),
    );
    const { outputKey: _, ...noOutputKey } = anEntry();
    expect(await refused(aManifest({ entries: [noOutputKey] }))).toEqual(
      new WorkerUsageError(
        `manifest ${MANIFEST} entry 0 has no output key (written by an older planner?): request the run again`,
      ),
    );
    expect((await run([])).error).toBeInstanceOf(WorkerUsageError);
  });
});

describe('run-command over S3 (the embedded S3 endpoint)', () => {
  let endpoint: S3HttpEndpoint;
  let client: S3Client;
  beforeAll(async () => {
    endpoint = new S3HttpEndpoint({ rootDir: join(root, 's3') });
    const url = await endpoint.listen();
    client = new S3Client({
      endpoint: url,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });
  afterAll(async () => {
    client?.destroy();
    await endpoint?.close();
  });

  it('moves the downloaded inputs into place (one object under two tables too) and publishes to S3', async () => {
    const s3 = new S3ObjectStore(client, { bucket: 'nightshift' });
    await s3.put(FILLS, FILLS_CSV);
    await s3.put(QUOTES, 'symbol,bid,ask\nAAA,1,2\n');
    const manifest = aManifest({
      entries: [anEntry({ inputs: { fills: [FILLS], trades: [FILLS], quotes: [QUOTES] } })],
    });
    const script = [
      'set -eu',
      'ls -A',
      'cmp "$NIGHTSHIFT_INPUT_DIR/fills/fills.csv" "$NIGHTSHIFT_INPUT_DIR/trades/fills.csv"',
      'printf \'{"fills":%d}\' $(($(wc -l < "$NIGHTSHIFT_INPUT_DIR/trades/fills.csv"))) > "$NIGHTSHIFT_OUTPUT_DIR/result.json"',
    ].join('\n');
    const { error, stdout } = await run(['sh', '-c', script], { manifest, objects: s3 });
    expect(error).toBeUndefined();
    // Nothing of the download is left beside what the command is promised.
    expect(stdout.lines.filter((l) => !/^(running|command exited|wrote) /.test(l))).toEqual([
      'entry.json',
      'inputs',
      'output',
    ]);
    expect(JSON.parse(Buffer.from(await s3.get(OUTPUT)).toString('utf8'))).toMatchObject({ result: { fills: 3 } });
  });
});

describe('the worker entrypoint, run-command', () => {
  const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

  interface Worker {
    exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
    /** Resolves once the worker's stdout has a line matching `pattern`. */
    printed(pattern: RegExp): Promise<void>;
    kill(signal: NodeJS.Signals): void;
  }

  /** Starts the built worker (the global setup builds it) as the compute environment would, in local mode. */
  function startWorker(args: string[]): Worker {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: {
        PATH: process.env['PATH'],
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        NIGHTSHIFT_MANIFEST_KEY: MANIFEST,
        NIGHTSHIFT_OBJECT_STORE_DIR: join(root, `objects-${stores}`),
        AWS_BATCH_JOB_ARRAY_INDEX: '0',
        NIGHTSHIFT_TRACE_FILE: join(root, 'traces.jsonl'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return {
      exited: new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr }))),
      printed: (pattern) =>
        new Promise((resolve) => {
          const check = (): void => {
            if (!pattern.test(stdout)) return;
            child.stdout.off('data', check);
            resolve();
          };
          child.stdout.on('data', check);
          check();
        }),
      kill: (signal) => child.kill(signal),
    };
  }

  beforeEach(async () => {
    await store.put(MANIFEST, JSON.stringify(aManifest()));
  });

  it('runs the command, forwards its lines, publishes its result, and continues the trace in the command', async () => {
    const { code, stdout, stderr } = await startWorker([
      'run-command',
      '--',
      'sh',
      '-c',
      'echo hello from the command; printf \'{"traceparent":"%s"}\' "$TRACEPARENT" > "$NIGHTSHIFT_OUTPUT_DIR/result.json"',
    ]).exited;
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^hello from the command$/m);
    const output = (await published()) as CommandOutput;
    expect(output).toMatchObject({ result: { traceparent: expect.any(String) }, command: { exitCode: 0 } });
    // The command's TRACEPARENT is the worker's span, as the worker wrote it to its trace file.
    const [, traceId, spanId] = (output.result as { traceparent: string }).traceparent.split('-');
    const spans = await readTraceFile(join(root, 'traces.jsonl'));
    // Without a TRACEPARENT from the job, the span is still its run's: under the run span derived from the run id.
    expect(spans.find((s) => s.spanId === spanId)).toMatchObject({
      traceId: runTraceId('r1'),
      parentSpanId: runSpanId('r1'),
      name: 'worker: command EQ1',
      service: 'nightshift-worker-command',
      attributes: expect.objectContaining({ 'nightshift.run_id': 'r1', 'nightshift.task_id': 'custom#EQ1' }),
    });
    expect(traceId).toBe(runTraceId('r1'));
    // The worker's own lines are JSON, in the task's span: its trace, run and task, the job's attempt.
    const wrote = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l['msg'] === `wrote ${OUTPUT}`);
    expect(wrote).toMatchObject({ level: 'info', service: 'nightshift-worker', trace_id: traceId, span_id: spanId, run_id: 'r1', task_id: 'custom#EQ1', attempt: 1 });
  });

  it("exits with the command's code", async () => {
    const { code, stderr } = await startWorker(['run-command', '--', 'sh', '-c', 'exit 4']).exited;
    expect(code).toBe(4);
    expect(stderr).toMatch(/^\{"level":"error",.*"exit_code":4,.*"msg":"command exited with code 4"\}$/m);
    expect(await store.head(OUTPUT)).toBeUndefined();
  });

  it('passes SIGTERM on to the command and exits with its code', async () => {
    const worker = startWorker([
      'run-command',
      '--',
      ...node(`process.on('SIGTERM', () => process.exit(7)); console.log('ready'); ${UNTIL_STOPPED}`),
    ]);
    await worker.printed(/^ready$/m);
    worker.kill('SIGTERM');
    const { code, stderr } = await worker.exited;
    expect(code).toBe(7);
    expect(stderr).toMatch(/sending SIGTERM to the command/);
  });

  it('refuses run-command without -- and a program (exit 2), with the usage of both subcommands', async () => {
    for (const args of [['run-command'], ['run-command', 'sh'], ['run-command', '--']]) {
      const { code, stderr } = await startWorker(args).exited;
      expect(code).toBe(2);
      expect(stderr).toMatch(/usage: nightshift-worker run-task/);
      expect(stderr).toMatch(/nightshift-worker run-command -- <program> \[args\.\.\.\]/);
    }
  });
});
