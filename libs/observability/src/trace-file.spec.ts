import { appendFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTrace } from './trace-file.js';

/** One OTLP/JSON export request line holding spans of the given traces, under one resource. */
function line(service: string, spans: Array<{ traceId: string; spanId: string }>): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ scope: { name: 'nightshift' }, spans: spans.map((s) => ({ ...s, name: `span ${s.spanId}`, kind: 1, startTimeUnixNano: '1', endTimeUnixNano: '2' })) }],
      },
    ],
  });
}

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

describe('readTrace (GET /runs/:id/trace)', () => {
  it("keeps one trace's spans with their resource and scope, across lines, and nothing of other traces", async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'ns-readtrace-')), 'traces.jsonl');
    await writeFile(file, `${line('nightshift-planner', [{ traceId: A, spanId: '1' }, { traceId: B, spanId: '2' }])}\n${line('nightshift-worker-tca', [{ traceId: B, spanId: '3' }])}\n`);
    // A line another process is still appending: skipped, not an error.
    await appendFile(file, line('nightshift-reporting', [{ traceId: A, spanId: '4' }]).slice(0, 60));

    const trace = (await readTrace(file, A)) as { resourceSpans: Array<{ resource: { attributes: Array<{ value: { stringValue: string } }> }; scopeSpans: Array<{ scope: { name: string }; spans: Array<{ spanId: string }> }> }> };
    expect(trace.resourceSpans).toHaveLength(1);
    expect(trace.resourceSpans[0]!.resource.attributes[0]!.value.stringValue).toBe('nightshift-planner');
    expect(trace.resourceSpans[0]!.scopeSpans.map((ss) => [ss.scope.name, ss.spans.map((s) => s.spanId)])).toEqual([['nightshift', ['1']]]);

    const other = (await readTrace(file, B)) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ spanId: string }> }> }> };
    expect(other.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId)))).toEqual(['2', '3']);
  });

  it('answers an empty trace for a file no span was written to yet', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'ns-readtrace-')), 'never-written.jsonl');
    expect(await readTrace(file, A)).toEqual({ resourceSpans: [] });
  });
});
