import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useMemo } from 'preact/hooks';
import { api } from '../api.js';
import { BarChart, ErrorBox, Loading, time } from '../components.js';
import { useLoad } from '../hooks.js';
import { sectionViews } from '../sections.js';

/** Published reports, newest first. */
export function ReportsPage(): VNode {
  const reports = useLoad(() => api.reports({ limit: 100 }), [], { pollMs: 10_000 });
  return html`<section>
    <h1>Reports</h1>
    <${ErrorBox} error=${reports.error} />
    ${!reports.data
      ? reports.error ? null : html`<${Loading} />`
      : reports.data.items.length === 0
        ? html`<p class="muted">No report published yet.</p>`
        : html`<table>
            <thead><tr><th>Report</th><th>Pipeline</th><th>Business date</th><th>Published</th><th>Headline</th></tr></thead>
            <tbody>
              ${reports.data.items.map(
                (r) => html`<tr data-report=${r.reportId}>
                  <td><a href=${`#/reports/${encodeURIComponent(r.reportId)}`}>${r.reportId}</a></td>
                  <td>${r.pipeline}</td>
                  <td>${r.businessDate}</td>
                  <td>${time(r.publishedAt)}</td>
                  <td class="headline">${Object.entries(r.headline).slice(0, 3).map(([k, v]) => `${k} ${String(v)}`).join(' · ')}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
  </section>`;
}

/** Headline figures' units, by the suffix of their name (the report's own convention: _bps, rates as fractions). */
function withUnit(name: string, value: number | string | null): string {
  if (value === null) return '—';
  if (typeof value === 'string') return value;
  if (name.endsWith('_bps')) return `${value.toLocaleString()} bps`;
  if (name.startsWith('fill_rate') || name.endsWith('_return')) return `${(value * 100).toFixed(2)} %`;
  return value.toLocaleString();
}

/** A report: its headline figures and a chart per workload section (TCA, execution, risk, performance, backtests). */
export function ReportPage({ reportId }: { reportId: string }): VNode {
  const report = useLoad(() => api.report(reportId), [reportId]);
  const views = useMemo(() => sectionViews(report.data?.document?.sections ?? {}), [report.data]);
  if (!report.data) return html`<section><h1>Report ${reportId}</h1><${ErrorBox} error=${report.error} />${report.error ? null : html`<${Loading} />`}</section>`;
  const r = report.data;
  return html`<section class="report" data-report=${r.reportId}>
    <h1>${r.pipeline} <span class="muted">${r.businessDate}</span></h1>
    <p class="muted">Report ${r.reportId} of run <a href=${`#/runs/${encodeURIComponent(r.runId)}`}>${r.runId}</a>, published ${time(r.publishedAt)}.</p>
    <table class="headline-table">
      <tbody>${Object.entries(r.headline).map(([k, v]) => html`<tr><th>${k.replaceAll('_', ' ')}</th><td class="num">${withUnit(k, v)}</td></tr>`)}</tbody>
    </table>
    ${views.map(
      (v) => html`<div class="section" data-section=${v.step} data-kind=${v.kind}>
        <h2>${v.step} <span class="muted">(${v.kind === 'other' ? 'data' : v.kind})</span></h2>
        ${v.charts.length > 0
          ? html`<div class="charts">${v.charts.map((c) => html`<${BarChart} spec=${c} />`)}</div>`
          : html`<pre class="data">${JSON.stringify(r.document?.sections?.[v.step], null, 2).slice(0, 20_000)}</pre>`}
      </div>`,
    )}
  </section>`;
}
