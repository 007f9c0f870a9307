import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentTraceparent, startTracing, withSpan, type SpanRecord } from './tracing.js';

describe('tracing to a local file', () => {
  it('nests spans across awaits, continues a remote traceparent, and records errors', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'ns-trace-')), 'traces.jsonl');
    const tracing = startTracing({ serviceName: 'test-svc', traceFile: file });
    const remote = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    let inner = '';
    await withSpan('outer', { traceparent: remote, kind: 'consumer' }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      await withSpan('inner', {}, async (span) => {
        inner = span.traceparent();
        expect(currentTraceparent()).toBe(inner);
      });
    });
    await expect(withSpan('boom', {}, async () => Promise.reject(new Error('bad input')))).rejects.toThrow('bad input');
    await tracing.forceFlush();
    await tracing.shutdown();

    const spans = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as SpanRecord);
    const outer = spans.find((s) => s.name === 'outer')!;
    const innerSpan = spans.find((s) => s.name === 'inner')!;
    const boom = spans.find((s) => s.name === 'boom')!;
    expect(outer.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(outer.parentSpanId).toBe('b7ad6b7169203331');
    expect(outer.kind).toBe('CONSUMER');
    expect(innerSpan.parentSpanId).toBe(outer.spanId);
    expect(inner).toBe(`00-${innerSpan.traceId}-${innerSpan.spanId}-01`);
    expect(boom.status).toBe('ERROR');
    expect(boom.statusMessage).toBe('bad input');
    expect(outer.service).toBe('test-svc');
  });
});
