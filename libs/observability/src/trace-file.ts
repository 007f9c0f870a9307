import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * Span exporter appending one OTLP/JSON `ExportTraceServiceRequest` per line (per export): the
 * format of the OpenTelemetry Collector's file exporter, which its `otlpjsonfile` receiver reads
 * back (and Jaeger imports through a collector). Several processes append to the same file; each
 * line is written by one append, and this process's appends are serialised.
 */
export class OtlpJsonLinesFileExporter implements SpanExporter {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const body = JsonTraceSerializer.serializeRequest(spans);
    if (!body || spans.length === 0) {
      done({ code: ExportResultCode.SUCCESS });
      return;
    }
    const line = `${new TextDecoder().decode(body)}\n`;
    this.queue = this.queue
      .then(() => mkdir(dirname(this.file), { recursive: true }))
      .then(() => appendFile(this.file, line))
      .then(
        () => done({ code: ExportResultCode.SUCCESS }),
        (error: Error) => done({ code: ExportResultCode.FAILED, error }),
      );
  }

  async forceFlush(): Promise<void> {
    await this.queue;
  }

  async shutdown(): Promise<void> {
    await this.queue;
  }
}

/** One span of a trace file, flattened for tests and tools (the file itself is OTLP/JSON). */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER' | 'UNSPECIFIED';
  /** The resource's `service.name`. */
  service: string;
  /** ISO-8601, millisecond resolution; `startMs`/`endMs` keep the sub-millisecond part. */
  startTime: string;
  endTime: string;
  /** Unix epoch milliseconds, with a fraction. */
  startMs: number;
  endMs: number;
  durationMs: number;
  status: 'UNSET' | 'OK' | 'ERROR';
  statusMessage?: string;
  attributes: Record<string, unknown>;
  links: Array<{ traceId: string; spanId: string; attributes: Record<string, unknown> }>;
}

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number; message?: string };
  links?: Array<{ traceId: string; spanId: string; attributes?: OtlpKeyValue[] }>;
}
interface OtlpRequest {
  resourceSpans?: Array<{ resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
const STATUSES = ['UNSET', 'OK', 'ERROR'] as const;

/** Thrown for a trace file line that is not an OTLP/JSON export request. */
export class TraceFileFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: not an OTLP/JSON trace export request: ${reason}`);
    this.name = 'TraceFileFormatError';
  }
}

/**
 * The spans of an OTLP/JSON-lines trace file, flattened. A last line without its newline is one
 * being written by another process, and is skipped; any other bad line is a TraceFileFormatError.
 */
export async function readTraceFile(file: string): Promise<SpanRecord[]> {
  return parseTraceLines(await readFile(file, 'utf8'), file);
}

/** {@link readTraceFile} over the file's text (`source` names it in errors). */
export function parseTraceLines(text: string, source = 'traces'): SpanRecord[] {
  // After the last newline: nothing, or a line still being appended.
  const complete = text.split('\n').slice(0, -1);
  const spans: SpanRecord[] = [];
  complete.forEach((line, i) => {
    if (line.trim() === '') return;
    let request: OtlpRequest;
    try {
      request = JSON.parse(line) as OtlpRequest;
    } catch (e) {
      throw new TraceFileFormatError(source, i + 1, (e as Error).message);
    }
    if (!Array.isArray(request.resourceSpans)) throw new TraceFileFormatError(source, i + 1, 'no resourceSpans array');
    for (const rs of request.resourceSpans) {
      const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push(toRecord(s, service));
    }
  });
  return spans;
}

function toRecord(s: OtlpSpan, service: string): SpanRecord {
  const startMs = nanosToMs(s.startTimeUnixNano);
  const endMs = nanosToMs(s.endTimeUnixNano);
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
    name: s.name,
    kind: KINDS[s.kind ?? 0] ?? 'UNSPECIFIED',
    service,
    startTime: new Date(Math.floor(startMs)).toISOString(),
    endTime: new Date(Math.floor(endMs)).toISOString(),
    startMs,
    endMs,
    durationMs: Math.round((endMs - startMs) * 1000) / 1000,
    status: STATUSES[s.status?.code ?? 0] ?? 'UNSET',
    ...(s.status?.message ? { statusMessage: s.status.message } : {}),
    attributes: attributesOf(s.attributes),
    links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attributesOf(l.attributes) })),
  };
}

/** Unix nanoseconds (a decimal string in OTLP/JSON) to milliseconds, exact to the microsecond. */
function nanosToMs(nanos: string | number): number {
  const n = BigInt(nanos);
  return Number(n / 1000n) / 1000;
}

function attributesOf(kvs: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) out[kv.key] = valueOf(kv.value);
  return out;
}

function valueOf(v: OtlpValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(valueOf);
  if (v.kvlistValue) return attributesOf(v.kvlistValue.values);
  return undefined;
}

/** One trace out of an OTLP/JSON-lines file, as one OTLP/JSON export request (Jaeger and otelcol import it as is). */
export interface OtlpTraceDocument {
  resourceSpans: unknown[];
}

/**
 * The spans of one trace in an OTLP/JSON-lines trace file, as one export request: each line's
 * resource spans kept with their resource and scope, holding only that trace's spans. Reads the
 * file a line at a time (it grows with every span of every run), so memory stays that of one line
 * plus the trace. A missing file is an empty trace; a line still being appended is skipped.
 */
export async function readTrace(file: string, traceId: string): Promise<OtlpTraceDocument> {
  const resourceSpans: unknown[] = [];
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { resourceSpans };
    throw e;
  }
  try {
    for await (const line of handle.readLines({ encoding: 'utf8' })) {
      // A cheap test first: most lines are other traces'.
      if (!line.includes(traceId)) continue;
      let request: OtlpRequest;
      try {
        request = JSON.parse(line) as OtlpRequest;
      } catch {
        continue; // the last line, half written by another process
      }
      for (const rs of request.resourceSpans ?? []) {
        const scopeSpans = (rs.scopeSpans ?? [])
          .map((ss) => ({ ...ss, spans: (ss.spans ?? []).filter((s) => s.traceId === traceId) }))
          .filter((ss) => ss.spans.length > 0);
        if (scopeSpans.length > 0) resourceSpans.push({ ...rs, scopeSpans });
      }
    }
  } finally {
    await handle.close();
  }
  return { resourceSpans };
}
