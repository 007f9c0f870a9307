import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '../../services/host/src/embedded-platform.js';
import { FUZZ_RUNS } from './fuzz-runs.js';

/**
 * The REST API (reporting) of the embedded platform, as its admin (`platform.apiKey`): arbitrary
 * paths, query strings, headers and bodies, and POST /runs and POST /runs/:id/cancel in particular,
 * answer a success or a 4xx with a JSON error carrying a message, never a 5xx or a dropped connection.
 */

let home: string;
let platform: EmbeddedPlatform;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'nightshift-fuzz-rest-'));
  platform = await startEmbeddedPlatform({ home, apiPort: 0, eventsPort: 0, vcpus: 1, memoryMiB: 512, logger: false });
});

afterAll(async () => {
  await platform?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: string;
}

function send(method: string, target: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Answer> {
  const url = new URL(platform.apiUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path: target, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer in 15 s to ${method} ${target}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * No 5xx; a refusal is RFC 9457 problem details: JSON with the status, a type and a detail. GraphQL
 * answers its own envelope (`{ data, errors }`) with the same problem in each error's `extensions.problem`.
 */
function expectAnswer(a: Answer, method: string, what: string): void {
  expect(a.status, `${what} answered ${a.status}: ${a.body.slice(0, 400)}`).toBeLessThan(500);
  if (a.status < 400 || method === 'HEAD') return;
  let parsed: { type?: unknown; detail?: unknown; status?: unknown; errors?: Array<{ extensions?: { problem?: unknown } }> };
  try {
    parsed = JSON.parse(a.body) as typeof parsed;
  } catch {
    throw new Error(`${what}: ${a.status} with a body that is not JSON: ${a.body.slice(0, 200)}`);
  }
  if (Array.isArray(parsed.errors) && /^\S+ \/graphql/.test(what)) parsed = (parsed.errors[0]?.extensions?.problem ?? {}) as typeof parsed;
  expect(parsed.status, `${what}: status in ${a.body}`).toBe(a.status);
  expect(typeof parsed.type === 'string' && parsed.type.startsWith('urn:nightshift:problem:'), `${what}: a problem type in ${a.body}`).toBe(true);
  expect(typeof parsed.detail === 'string' && parsed.detail.length > 0, `${what}: a detail in ${a.body}`).toBe(true);
}

/** Path segments the wire accepts raw, or percent-encoded otherwise; some of them the API's own. */
const segment = fc.oneof(
  fc.constantFrom('runs', 'reports', 'health', 'tasks', 'attempts', 'log', 'cancel', 'retry', 'datasets', 'landings', 'pipelines', 'dlq', 'redrive', 'openapi.json', 'docs', 'graphql', '1', '0', '-1', '..', '.', '', '%2e%2e', '%2F', '%', '%zz', '%00', 'run-x', 'a#b'),
  fc.string({ maxLength: 16 }),
);
const path = fc
  .tuple(fc.array(segment, { minLength: 0, maxLength: 7 }), fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }))
  .map(([segments, encode]) => `/${segments.map((s, i) => (encode[i] || !/^[\x21-\x7e]*$/.test(s) || /[?#]/.test(s) ? encodeURIComponent(s) : s)).join('/')}`);
const queryKey = fc.oneof(fc.constantFrom('tenant', 'limit', 'cursor', 'tasksLimit', 'tasksCursor', 'runId', 'status', 'pipeline', 'businessDate', 'businessDateFrom', 'dataset', 'queue', 'x'), fc.string({ maxLength: 8 }));
const queryValue = fc.oneof(
  fc.constantFrom('0', '-1', '1e309', '99999999999999999999', 'NaN', '', 'default', 'other', 'eyJ4IjoxfQ', '%zz', 'a%00b', '[]'),
  fc.string({ maxLength: 24 }),
);
const query = fc.oneof(
  fc.constant(''),
  fc.array(fc.tuple(queryKey, queryValue, fc.boolean()), { minLength: 1, maxLength: 4 }).map(
    (pairs) => `?${pairs.map(([k, v, raw]) => `${encodeURIComponent(k)}=${raw && /^[\x21-\x7e]*$/.test(v) && !/[#&]/.test(v) ? v : encodeURIComponent(v)}`).join('&')}`,
  ),
);
const anyValue = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));
/** Bodies shaped like a run request, with values from valid to nonsense. */
const runRequest = fc.record(
  {
    pipeline: fc.oneof(fc.constantFrom('desk-risk', 'tca', 'nope', '', '../x', 'a'.repeat(300)), anyValue),
    businessDate: fc.oneof(fc.constantFrom('2026-11-20', '2026-02-30', '10000-01-01', ''), anyValue),
    datasetId: fc.oneof(fc.string({ maxLength: 40 }), anyValue),
    requestedBy: anyValue,
    tenant: fc.constantFrom('other', 'default'),
    reason: fc.oneof(fc.string({ maxLength: 2000 }), anyValue),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  runRequest.map((v) => Buffer.from(JSON.stringify(v))),
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc.integer({ min: 1, max: 20_000 }).map((depth) => Buffer.from('{"a":'.repeat(depth) + '1' + '}'.repeat(depth))),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)),
);
const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'nope/nope', '');
const idempotencyKey = fc.option(fc.oneof(fc.constantFrom('k1', 'k2', 'a'.repeat(129)), fc.string({ maxLength: 20 }).filter((s) => /^[\x20-\x7e]*$/.test(s))), { nil: undefined });

describe('fuzz: the REST API', () => {
  it('never answers 5xx to any method, path, query or body, authenticated or not', async () => {
    const auth = fc.oneof(
      fc.constant(`Bearer ${platform.apiKey}`),
      fc.constant(`Bearer ${platform.apiKey}`),
      fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic abc', `Bearer ${platform.apiKey}x`, 'Bearer a.b.c', 'Bearer eyJhbGciOiJub25lIn0.e30.'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), path, query, auth, contentType, body, async (method, p, q, a, ct, b) => {
        const sendsBody = method !== 'GET' && method !== 'HEAD';
        const headers: Record<string, string> = { ...(a ? { authorization: a } : {}), ...(sendsBody && ct ? { 'content-type': ct } : {}) };
        const answer = await send(method, p + q, headers, sendsBody ? b : undefined);
        expectAnswer(answer, method, `${method} ${p}${q} (${ct}) ${b.toString().slice(0, 200)}`);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('POST /runs and POST /runs/:id/cancel: 202 or a 4xx naming the problem, never a 5xx', async () => {
    const accepted: string[] = [];
    const runId = fc.oneof(
      fc.constantFrom('no-such-run', '..', 'run%2F..', '%00', 'a'.repeat(600)),
      fc.string({ maxLength: 30 }).map(encodeURIComponent),
      fc.nat().map((i) => accepted[i % Math.max(1, accepted.length)] ?? 'none'),
    );
    await fc.assert(
      fc.asyncProperty(fc.boolean(), runId, query, contentType, body, idempotencyKey, async (cancel, id, q, ct, b, key) => {
        const target = cancel ? `/runs/${id}/cancel${q}` : `/runs${q}`;
        const headers: Record<string, string> = { authorization: `Bearer ${platform.apiKey}`, ...(ct ? { 'content-type': ct } : {}), ...(key !== undefined ? { 'idempotency-key': key } : {}) };
        const answer = await send('POST', target, headers, b);
        expectAnswer(answer, 'POST', `POST ${target} (${ct}) ${b.toString().slice(0, 200)}`);
        if (answer.status === 202 && !cancel) {
          const out = JSON.parse(answer.body) as { runId?: unknown; location?: unknown };
          expect(typeof out.runId, answer.body).toBe('string');
          accepted.push(encodeURIComponent(out.runId as string));
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
    // The API still answers, and lists runs (what was accepted loads).
    const list = await send('GET', '/runs?limit=500', { authorization: `Bearer ${platform.apiKey}` }, undefined);
    expect(list.status, list.body).toBe(200);
  });
});
