import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DatasetLanded } from '@nightshift/contracts';
import { definePipeline } from '@nightshift/jobs-domain';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedPlatform } from './embedded-platform.js';
import { ensureSampleDay } from './sample-day.js';
import { apiFetch } from './testing/api-fetch.js';
import { startTestPlatform, type TestPlatform } from './testing/test-platform.js';
import { waitFor } from './testing/wait.js';

/*
 * The dashboard (/ui, services/reporting/ui) in a real browser: Debian's chromium driven by
 * playwright-core, against a real embedded platform with a landed sample day. Each page is
 * screenshotted into artifacts/screenshots/ (git-ignored; CI keeps it as an artifact).
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');
const DATE = '2026-11-20';
const DESKS = ['cash', 'program'];
const LANDED = ['nightly-tca', 'execution-report', 'desk-risk'];

/** A run that waits for a person: started through the API over the landed day, never by the landing itself. */
const GATE = definePipeline({
  name: 'dashboard-gate',
  description: 'test: a sign-off that waits an hour',
  trigger: { datasets: ['executions'], onLanding: false },
  steps: [
    { name: 'prepare', command: ['true'], vcpus: 0.25, memoryMiB: 64 },
    { name: 'sign-off', approval: { timeoutSeconds: 3_600, description: 'Publish the numbers?' }, dependsOn: ['prepare'] },
    { name: 'publish', command: ['true'], dependsOn: ['sign-off'], vcpus: 0.25, memoryMiB: 64 },
  ],
});

/** What the environment says about the browser: tests read it here only. */
function browserEnvironment(): { chromium: string | undefined; ci: boolean; root: boolean } {
  let path = process.env['CHROMIUM_PATH'];
  if (!path) {
    try {
      path = execFileSync('which', ['chromium'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
    } catch {
      path = undefined;
    }
  }
  return { chromium: path, ci: Boolean(process.env['CI']), root: process.getuid?.() === 0 };
}

const env = browserEnvironment();
const MISSING = 'chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH): the dashboard browser tests need it';
if (!env.chromium && !env.ci) process.stderr.write(`dashboard.browser.spec.ts: skipped: ${MISSING}\n`);

interface RunItem {
  runId: string;
  pipeline: string;
  status: string;
  reason?: string;
}

let started: TestPlatform | undefined;
let platform: EmbeddedPlatform;
let browser: Browser;
let page: Page;
let landed: RunItem[];
let reports: Map<string, string>;

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await apiFetch(`${platform.apiUrl}${path}`, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Opens a hash route of the dashboard (the same tab: the key stays in its session storage). */
async function open(route: string): Promise<void> {
  await page.goto(`${platform.apiUrl}/ui${route}`);
}

/** The browser's own getComputedStyle (this file is type-checked without the DOM library). */
type ComputedStyleOf = { getComputedStyle(element: unknown): { fill: string } };

async function requestGateRun(): Promise<string> {
  const accepted = await json<{ runId: string }>('/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pipeline: GATE.name, businessDate: DATE }) });
  await waitFor(() => json<{ status: string; steps: Array<{ step: string; status: string }> }>(`/runs/${accepted.runId}`), (r) => r.steps.some((s) => s.step === 'sign-off' && s.status === 'WAITING'), {
    what: `run ${accepted.runId} to wait for its sign-off`,
    timeoutMs: 120_000,
    intervalMs: 250,
  });
  return accepted.runId;
}

describe.skipIf(!env.chromium && !env.ci)('the dashboard in chromium, against an embedded platform with a landed day', () => {
  beforeAll(async () => {
    if (!env.chromium) throw new Error(`CI is set and ${MISSING}; .ci/run installs it`);
    // The bundle under test is the current sources' (esbuild takes about a second).
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-ui.mjs')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    await mkdir(SCREENSHOTS, { recursive: true });
    started = await startTestPlatform({ prefix: 'nightshift-dashboard-', extraPipelines: [GATE] });
    const { events } = started;
    platform = started.platform;

    const { detail } = await ensureSampleDay(platform.objects, { businessDate: DATE, seed: 5, desks: DESKS, ordersPerDesk: 10, quotesPerSymbol: 20, symbols: 2 });
    const out = await events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify(detail) }] }));
    const landingId = out.Entries![0]!.EventId!;
    landed = await waitFor(
      async () => (await json<{ items: RunItem[] }>(`/runs?correlationId=${landingId}`)).items,
      (items) => LANDED.every((p) => items.some((r) => r.pipeline === p && (r.status === 'SUCCEEDED' || r.status === 'FAILED'))),
      { what: "the landed day's runs to finish", timeoutMs: 240_000, intervalMs: 250 },
    );
    for (const run of landed) expect(run.status, `${run.pipeline}: ${run.reason ?? ''}`).toBe('SUCCEEDED');
    reports = new Map();
    for (const run of landed) {
      const items = await waitFor(async () => (await json<{ items: Array<{ reportId: string }> }>(`/reports?runId=${run.runId}`)).items, (i) => i.length === 1, {
        what: `the report of ${run.pipeline}`,
        timeoutMs: 60_000,
      });
      reports.set(run.pipeline, items[0]!.reportId);
    }

    browser = await chromium.launch({ executablePath: env.chromium, headless: true, args: env.root ? ['--no-sandbox'] : [] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${platform.apiUrl}/ui`);
    await page.fill('input[name="apiKey"]', platform.apiKey);
    await page.click('button[type="submit"]');
    await page.locator('header nav').waitFor({ timeout: 30_000 });
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await started?.stop();
  });

  it('serves the page and its bundle from reporting, without a key, and asks for one', async () => {
    const res = await fetch(`${platform.apiUrl}/ui`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const script = /src="(\/ui\/assets\/main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const bundle = await fetch(`${platform.apiUrl}${script!}`);
    expect(bundle.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(bundle.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${platform.apiUrl}/ui/assets/..%2Fapi-key`)).status).toBe(404);

    const fresh = await browser.newPage();
    await fresh.goto(`${platform.apiUrl}/ui#/runs`);
    await fresh.fill('input[name="apiKey"]', 'not-a-key');
    await fresh.click('button[type="submit"]');
    await expect(fresh.locator('.error').textContent({ timeout: 30_000 })).resolves.toContain('refused');
    await fresh.close();
  });

  it('lists the landed day\'s runs with their statuses, and filters them by pipeline', async () => {
    await open('#/runs');
    for (const run of landed) {
      const status = page.locator(`tr[data-run="${run.runId}"] .status`);
      await status.waitFor({ timeout: 30_000 });
      expect(await status.getAttribute('data-status')).toBe(run.status);
    }
    await screenshot('runs');

    await page.selectOption('select[name="pipeline"]', 'nightly-tca');
    await page.click('form.filters button[type="submit"]');
    await waitFor(() => page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-pipeline'))), (p) => p.length > 0 && p.every((n) => n === 'nightly-tca'), {
      what: 'the runs table to show only nightly-tca runs',
      timeoutMs: 30_000,
    });
  });

  it('shows a run as a DAG coloured by state, a timeline of its attempts, and an attempt\'s log', async () => {
    const tca = landed.find((r) => r.pipeline === 'nightly-tca')!;
    await open(`#/runs/${tca.runId}`);
    const node = page.locator('svg.dag g.node[data-step="tca"]');
    await node.waitFor({ timeout: 30_000 });
    expect(await node.getAttribute('data-status')).toBe('SUCCEEDED');
    expect(await node.locator('rect').evaluate((r) => (globalThis as unknown as ComputedStyleOf).getComputedStyle(r).fill)).toBe('rgb(46, 139, 87)');
    // One row per desk's task, one bar per attempt.
    await waitFor(() => page.locator('svg.gantt rect.bar').count(), (n) => n >= DESKS.length, { what: 'the Gantt bars', timeoutMs: 30_000 });
    expect(await page.locator('svg.gantt g.row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task')).sort())).toEqual(DESKS.map((d) => `tca#${d}`));
    await page.locator('a[href^="#/reports/"]').waitFor({ timeout: 30_000 });

    await page.locator(`tr[data-task="tca#${DESKS[0]}"] button`).first().click();
    await waitFor(() => page.locator('.log pre').textContent(), (t) => !!t && t !== 'Loading…', { what: 'the attempt log', timeoutMs: 30_000 });
    await screenshot('run');
  });

  it('renders each landed report\'s charts: TCA cost by broker, venue and algo; fill rates; VaR/ES by desk', async () => {
    const expected: Record<string, string[]> = {
      'nightly-tca': ['TCA cost by broker', 'TCA cost by venue', 'TCA cost by algo'],
      'execution-report': ['Order outcomes', 'Fill rates by broker'],
      'desk-risk': ['VaR and ES by desk (historical, 1 day)'],
    };
    for (const [pipeline, titles] of Object.entries(expected)) {
      await open(`#/reports/${reports.get(pipeline)!}`);
      await page.locator(`section.report[data-report="${reports.get(pipeline)!}"] figure.chart canvas`).first().waitFor({ timeout: 30_000 });
      // Charts draw once the page has painted (Preact runs effects after the frame): wait for every one to have pixels.
      const drawn = () =>
        page.locator('figure.chart').evaluateAll((figures) =>
          figures.map((f) => {
            const canvas = f.querySelector('canvas')!;
            const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
            return { title: f.getAttribute('data-title'), width: canvas.width, painted };
          }),
        );
      const charts = await waitFor(drawn, (cs) => titles.every((t) => cs.some((c) => c.title === t)) && cs.every((c) => c.painted > 1_000), {
        what: `the charts of the ${pipeline} report to be drawn`,
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      expect(charts.map((c) => c.title)).toEqual(expect.arrayContaining(titles));
      for (const c of charts) {
        expect(c.width, `${pipeline}: ${c.title}`).toBeGreaterThan(100);
        expect(c.painted, `${pipeline}: ${c.title} has nothing drawn`).toBeGreaterThan(1_000);
      }
      await screenshot(`report-${pipeline}`);
    }
    // The TCA report's figures with their units as the document gives them, its exports and its provenance.
    const tca = (await json<{ document: { headlineText: Record<string, string>; provenance: { dataset: { datasetId: string } } } }>(`/reports/${reports.get('nightly-tca')!}`)).document;
    await open(`#/reports/${reports.get('nightly-tca')!}`);
    const notional = page.locator('table.headline-table tr[data-figure="notional"] td.num').first();
    await notional.waitFor({ timeout: 30_000 });
    expect(await notional.textContent()).toBe(tca.headlineText['notional']);
    expect(tca.headlineText['notional']).toMatch(/ USD$/);
    expect(await page.locator('table.headline-table th.previous').textContent()).toBe('no earlier report');
    await page.locator('div.section[data-section="tca"] span.export[data-table="by_broker"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('details.provenance dd code').first().textContent()).toBe(tca.provenance.dataset.datasetId);
  });

  it('shows the partition matrix with the landed date, and starts a backfill from it', async () => {
    await open('#/partitions');
    for (const run of landed) {
      const cell = page.locator(`table.matrix tr[data-pipeline="${run.pipeline}"] td[data-date="${DATE}"]`);
      await cell.waitFor({ timeout: 30_000 });
      expect(await cell.getAttribute('data-status')).toBe('SUCCEEDED');
    }
    await screenshot('partitions');

    // Dates without a dataset: the backfill is accepted and its dates end MISSING_DATASET.
    await page.selectOption('form.backfill select[name="pipeline"]', 'nightly-tca');
    await page.fill('form.backfill input[name="from"]', '2026-09-07');
    await page.fill('form.backfill input[name="to"]', '2026-09-08');
    await page.click('form.backfill button[type="submit"]');
    const notice = page.locator('.notice[data-backfill]');
    await notice.waitFor({ timeout: 30_000 });
    const backfillId = (await notice.getAttribute('data-backfill'))!;
    const backfill = await json<{ pipeline: string; from: string; to: string; total: number }>(`/backfills/${backfillId}`);
    expect(backfill).toMatchObject({ pipeline: 'nightly-tca', from: '2026-09-07', to: '2026-09-08', total: 2 });
    await screenshot('partitions-backfill');
  });

  it('shows why a run waits, and cancels it', async () => {
    const runId = await requestGateRun();
    await open(`#/runs/${runId}`);
    const waiting = page.locator('.waiting[data-step="sign-off"]');
    await waiting.waitFor({ timeout: 30_000 });
    expect(await waiting.textContent()).toMatch(/^sign-off: waiting for approval \("Publish the numbers\?"\) until \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ; the run fails if nobody answers by then$/);
    expect(await page.locator('svg.dag g.node[data-step="sign-off"]').getAttribute('data-status')).toBe('WAITING');
    await screenshot('run-waiting');

    await page.click('button:has-text("Cancel run")');
    const run = await waitFor(() => json<RunItem>(`/runs/${runId}`), (r) => r.status === 'FAILED', { what: `run ${runId} to be cancelled`, timeoutMs: 60_000, intervalMs: 250 });
    expect(run.reason).toMatch(/^cancelled: stopped from the dashboard/);
    await page.locator(`section.run[data-run="${runId}"][data-status="FAILED"]`).waitFor({ timeout: 30_000 });
    await screenshot('run-cancelled');
  });

  it('approves a waiting sign-off, and the run goes on to succeed', async () => {
    const runId = await requestGateRun();
    await open(`#/runs/${runId}`);
    await page.click('button:has-text("Approve sign-off")');
    const run = await waitFor(() => json<RunItem>(`/runs/${runId}`), (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED', { what: `run ${runId} to finish`, timeoutMs: 120_000, intervalMs: 250 });
    expect(run.status, run.reason).toBe('SUCCEEDED');
  });
});
