import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DatasetLanded } from '@nightshift/contracts';
import type { PutEventsRequestEntry } from '@nightshift/events-domain';
import { LocalEventBus, PutEventsHttpEndpoint, PutEventsValidationError } from '@nightshift/events-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUZZ_RUNS } from './fuzz-runs.js';

const RULES = { everything: [{ name: 'all', description: 'every event', eventPattern: { source: [{ prefix: '' }] } }] };

/** A Detail: valid JSON objects of any shape, some deeply nested, and strings that are not objects or not JSON. */
const detail = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc.object({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 1, max: 50_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.string({ maxLength: 64 }),
);

/** A Time: ordinary dates, the extremes JavaScript can hold, and invalid ones. */
const time = fc.oneof(
  fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z') }),
  fc.constantFrom(new Date(253402300800_000), new Date(-62198755200_000), new Date(8.64e15), new Date(Number.NaN), new Date(0)),
);

const entry: fc.Arbitrary<PutEventsRequestEntry> = fc.record(
  {
    Source: fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('com.example.oms', 'aws.batch', '')),
    DetailType: fc.oneof(fc.string({ maxLength: 150 }), fc.constant(DatasetLanded.detailType)),
    Detail: detail,
    Resources: fc.array(fc.string({ maxLength: 40 }), { maxLength: 3 }),
    Time: time,
  },
  { requiredKeys: [] },
);

describe('fuzz: the embedded bus ingress', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-fuzz-bus-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answers every PutEvents with a per-entry result or a validation refusal, and stores only what loads again', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 0, maxLength: 12 }), async (entries) => {
        const home = join(dir, String(round++));
        const bus = await LocalEventBus.open({ dir: home, rules: RULES });
        let accepted = 0;
        try {
          const result = await bus.putEvents(entries);
          expect(result.Entries).toHaveLength(entries.length);
          for (const r of result.Entries) {
            if ('ErrorCode' in r) {
              expect(r.ErrorCode).toMatch(/^[A-Za-z]+$/);
              expect(r.ErrorMessage.length).toBeGreaterThan(0);
            } else accepted++;
          }
          expect(result.FailedEntryCount).toBe(entries.length - accepted);
        } catch (e) {
          // Only a refusal of the request as a whole (count, total size), with nothing written.
          expect(e).toBeInstanceOf(PutEventsValidationError);
        } finally {
          await bus.close();
        }
        // Nothing stored that cannot be loaded: the bus opens again and delivers every accepted event.
        const again = await LocalEventBus.open({ dir: home, rules: RULES });
        try {
          const received = await again.receive('everything', 10);
          expect(received).toHaveLength(accepted);
        } finally {
          await again.close();
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

/** POSTs raw bytes to an endpoint; resolves the status (or the socket error). */
function post(url: string, headers: Record<string, string>, body: Buffer): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (e) => resolve(e.message));
    req.end(body);
  });
}

describe('fuzz: the PutEvents HTTP endpoint', () => {
  let dir: string;
  let bus: LocalEventBus;
  let endpoint: PutEventsHttpEndpoint;
  let url: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-fuzz-putevents-'));
    bus = await LocalEventBus.open({ dir, rules: RULES });
    endpoint = new PutEventsHttpEndpoint({ bus });
    url = await endpoint.listen();
  });
  afterAll(async () => {
    await endpoint.close();
    await bus.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('never answers 5xx to any body, header or entry, and the bus still loads afterwards', async () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
      fc.jsonValue({ maxDepth: 5 }).map((v) => Buffer.from(JSON.stringify(v))),
      fc.array(entry, { maxLength: 11 }).map((entries) =>
        Buffer.from(JSON.stringify({ Entries: entries.map((e) => ({ ...e, Time: e.Time ? e.Time.getTime() / 1000 : undefined })) })),
      ),
    );
    const target = fc.constantFrom('AWSEvents.PutEvents', 'AWSEvents.PutRule', 'Nope', '');
    const contentType = fc.constantFrom('application/x-amz-json-1.1', 'application/json', 'text/plain');
    await fc.assert(
      fc.asyncProperty(body, target, contentType, async (b, t, ct) => {
        const status = await post(url, { 'x-amz-target': t, 'content-type': ct }, b);
        expect(typeof status === 'number' && status < 500, `answered ${status}`).toBe(true);
      }),
      { numRuns: FUZZ_RUNS },
    );
    await endpoint.close();
    await bus.close();
    const reopened = await LocalEventBus.open({ dir, rules: RULES });
    await reopened.close();
    bus = await LocalEventBus.open({ dir, rules: RULES });
    endpoint = new PutEventsHttpEndpoint({ bus });
    url = await endpoint.listen();
  });
});

describe('fuzz: the Dataset Landed detail', () => {
  it('either parses or names every problem by its path, for any JSON', () => {
    const landedLike = fc.record(
      {
        dataset: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('executions')),
        businessDate: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('2026-11-20')),
        files: fc.array(
          fc.record({
            table: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('orders', 'fills', 'quotes')),
            key: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('landing//x.csv', 'landing/./x', 'landing\\..\\x', '../etc/passwd', '/abs', 'landing/ok.csv')),
            desk: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('../../x', 'a/b', 'cash')),
          }, { requiredKeys: ['table', 'key'] }),
          { maxLength: 4 },
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(landedLike, fc.jsonValue({ maxDepth: 4 })), (value) => {
        const parsed = DatasetLanded.detail.safeParse(value);
        if (!parsed.success) {
          for (const issue of parsed.error.issues) expect(issue.message.length).toBeGreaterThan(0);
          return;
        }
        // What the schema accepts is safe to use as object keys and partition names.
        for (const f of parsed.data.files) {
          const segments = f.key.split('/');
          expect(segments.every((seg) => seg !== '' && seg !== '.' && seg !== '..'), `key ${JSON.stringify(f.key)}`).toBe(true);
          expect(f.key.includes('\\'), `key ${JSON.stringify(f.key)}`).toBe(false);
          if (f.desk !== undefined) expect(f.desk, 'desk').toMatch(/^[a-z0-9][a-z0-9._-]*$/);
          if (f.desk !== undefined) expect(f.desk.includes('..'), `desk ${JSON.stringify(f.desk)}`).toBe(false);
        }
      }),
      { numRuns: FUZZ_RUNS * 10 },
    );
  });
});
