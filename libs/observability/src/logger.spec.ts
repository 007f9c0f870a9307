import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, nestLogger, type LogSink } from './logger.js';
import { startTracing, withSpan, type Tracing } from './tracing.js';

/** A sink that keeps each line written, parsed. */
class Lines implements LogSink {
  readonly text: string[] = [];
  write(line: string): void {
    this.text.push(...line.split('\n').filter((l) => l !== ''));
  }
  get json(): Array<Record<string, unknown>> {
    return this.text.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

let dir: string;
let tracing: Tracing;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ns-logger-'));
  tracing = startTracing({ serviceName: 'logger-spec', traceFile: join(dir, 'traces.jsonl') });
});
afterAll(async () => {
  await tracing.shutdown();
  await rm(dir, { recursive: true, force: true });
});

describe('createLogger', () => {
  it('writes one JSON object a line: level label, ISO time, service, fields and msg', () => {
    const out = new Lines();
    const log = createLogger({ service: 'planner', destination: out });
    log.info({ pipeline: 'nightly-tca' }, 'run started');
    log.warn('careful');
    log.error({ err: new Error('boom') }, 'failed');
    const [info, warn, error] = out.json;
    expect(info).toEqual({ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), service: 'planner', pipeline: 'nightly-tca', msg: 'run started' });
    expect(warn).toMatchObject({ level: 'warn', service: 'planner', msg: 'careful' });
    expect(error).toMatchObject({ level: 'error', msg: 'failed', err: { type: 'Error', message: 'boom', stack: expect.stringContaining('Error: boom') } });
    // Outside any span: no ids at all.
    for (const line of out.json) for (const key of ['trace_id', 'span_id', 'run_id', 'task_id']) expect(line).not.toHaveProperty(key);
  });

  it("carries the active span's trace and span ids and the run and task its attributes name", async () => {
    const out = new Lines();
    const log = createLogger({ service: 'worker', destination: out });
    const seen: Array<{ traceparent: string; which: string }> = [];
    await withSpan('run', { attributes: { 'nightshift.run_id': 'run-1' } }, async (run) => {
      log.info('in the run');
      seen.push({ traceparent: run.traceparent(), which: 'run' });
      await withSpan('task', { attributes: { 'nightshift.task_id': 'tca#EQ' } }, async (task) => {
        await new Promise((resolve) => setImmediate(resolve));
        log.info('in the task');
        // A call's own fields win over the context's.
        log.info({ run_id: 'run-2' }, 'about another run');
        seen.push({ traceparent: task.traceparent(), which: 'task' });
      });
    });
    log.info('after');
    const ids = (which: string) => {
      const [, trace_id, span_id] = seen.find((s) => s.which === which)!.traceparent.split('-');
      return { trace_id, span_id };
    };
    const [inRun, inTask, other, after] = out.json;
    expect(inRun).toMatchObject({ ...ids('run'), run_id: 'run-1', msg: 'in the run' });
    expect(inRun).not.toHaveProperty('task_id');
    expect(inTask).toMatchObject({ ...ids('task'), run_id: 'run-1', task_id: 'tca#EQ', msg: 'in the task' });
    expect(ids('task').trace_id).toBe(ids('run').trace_id);
    expect(other).toMatchObject({ run_id: 'run-2', task_id: 'tca#EQ' });
    expect(Object.keys(after)).toEqual(['level', 'time', 'service', 'msg']);
  });

  it('writes only lines at or above its level', () => {
    const out = new Lines();
    const log = createLogger({ service: 's', level: 'warn', destination: out });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(out.json.map((l) => l['level'])).toEqual(['warn', 'error']);
    expect(log.isLevelEnabled('info')).toBe(false);
    const verbose = new Lines();
    createLogger({ service: 's', level: 'debug', destination: verbose }).debug('d');
    expect(verbose.json).toMatchObject([{ level: 'debug', msg: 'd' }]);
  });

  it('appends JSON to a file and pretty lines to another sink, and names other services with forService', async () => {
    const file = join(dir, 'logs', 'host.jsonl');
    const screen = new Lines();
    const log = createLogger({ service: 'host', destination: [{ to: file }, { to: screen, pretty: true }] });
    log.info({ run_id: 'run-9' }, 'serving');
    log.forService('reporting').warn('late');
    log.close();
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toMatchObject([
      { level: 'info', service: 'host', run_id: 'run-9', msg: 'serving' },
      { level: 'warn', service: 'reporting', msg: 'late' },
    ]);
    expect(screen.text).toEqual([
      expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: host: serving \{"run_id":"run-9"\}$/),
      expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: reporting: late$/),
    ]);
    // After close() a line is dropped from the file, never thrown at the code that logs it.
    expect(() => log.forService('planner').error('after the end')).not.toThrow();
    expect((await readFile(file, 'utf8')).trimEnd().split('\n')).toHaveLength(2);
  });
});

describe('nestLogger', () => {
  it("maps Nest's levels and context, by context to a service, and keeps the framework's boot lines at debug", () => {
    const out = new Lines();
    const nest = nestLogger(createLogger({ service: 'nightshift', level: 'debug', destination: out }), { services: { planner: 'planner', scheduler: 'planner' } });
    nest.log('run r1 started', 'planner');
    nest.warn('a fire skipped', 'scheduler');
    nest.error('sweep failed', 'Error: sweep failed\n    at sweep (loop.js:1:1)', 'planner');
    nest.error('shutdown step failed', 'host');
    nest.debug('detail', 'planner');
    nest.verbose('more detail', 'planner');
    nest.fatal('gone', 'planner');
    nest.log({ msg: 'run started', run_id: 'r2', pipeline: 'nightly-tca' }, 'planner');
    nest.log('Mapped {/runs, GET} route', 'RouterExplorer');
    nest.warn('a framework warning', 'NestApplication');
    expect(out.json).toEqual([
      expect.objectContaining({ level: 'info', service: 'planner', context: 'planner', msg: 'run r1 started' }),
      expect.objectContaining({ level: 'warn', service: 'planner', context: 'scheduler', msg: 'a fire skipped' }),
      expect.objectContaining({ level: 'error', service: 'planner', msg: 'sweep failed', err: { type: 'Error', message: 'sweep failed', stack: expect.stringContaining('at sweep') } }),
      expect.objectContaining({ level: 'error', service: 'nightshift', context: 'host', msg: 'shutdown step failed' }),
      expect.objectContaining({ level: 'debug', msg: 'detail' }),
      expect.objectContaining({ level: 'debug', msg: 'more detail' }),
      expect.objectContaining({ level: 'fatal', msg: 'gone' }),
      expect.objectContaining({ level: 'info', service: 'planner', run_id: 'r2', pipeline: 'nightly-tca', msg: 'run started' }),
      expect.objectContaining({ level: 'debug', service: 'nightshift', context: 'RouterExplorer' }),
      expect.objectContaining({ level: 'warn', context: 'NestApplication', msg: 'a framework warning' }),
    ]);
    // At the default level the framework's boot line is not written at all.
    const quiet = new Lines();
    nestLogger(createLogger({ service: 'nightshift', destination: quiet })).log('Nest application successfully started', 'NestApplication');
    expect(quiet.text).toEqual([]);
  });
});
