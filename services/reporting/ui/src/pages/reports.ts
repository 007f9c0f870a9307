import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useMemo } from 'preact/hooks';
import { api } from '../api.js';
import type { ReportDetail } from '../types.js';
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

/** A headline figure as the report document gives it (value and unit, formatted by reporting); bare for a report published before documents carried it. */
function shown(r: ReportDetail, name: string, value: number | string | null): string {
  return r.document?.headlineText?.[name] ?? (value === null ? '—' : String(value));
}

/** A report: its headline figures against the previous business date, a chart per workload section (TCA, execution, risk, performance, backtests), exports and provenance. */
export function ReportPage({ reportId }: { reportId: string }): VNode {
  const report = useLoad(() => api.report(reportId), [reportId]);
  const exports = useLoad(() => api.reportSections(reportId), [reportId]);
  const views = useMemo(() => sectionViews(report.data?.document?.sections ?? {}), [report.data]);
  if (!report.data) return html`<section><h1>Report ${reportId}</h1><${ErrorBox} error=${report.error} />${report.error ? null : html`<${Loading} />`}</section>`;
  const r = report.data;
  const previous = r.document?.previous ?? null;
  const provenance = r.document?.provenance;
  const tablesOf = (step: string) => exports.data?.items.find((i) => i.section === step)?.tables ?? [];
  return html`<section class="report" data-report=${r.reportId}>
    <h1>${r.pipeline} <span class="muted">${r.businessDate}</span></h1>
    <p class="muted">Report ${r.reportId} of run <a href=${`#/runs/${encodeURIComponent(r.runId)}`}>${r.runId}</a>, published ${time(r.publishedAt)}${r.document?.currency ? `; money in ${r.document.currency}` : ''}.</p>
    <table class="headline-table">
      <thead><tr><th></th><th>${r.businessDate}</th><th class="previous">${previous ? html`vs <a href=${`#/reports/${encodeURIComponent(previous.reportId)}`}>${previous.businessDate}</a>` : 'no earlier report'}</th></tr></thead>
      <tbody>${Object.entries(r.headline).map(
        ([k, v]) => html`<tr data-figure=${k}><th>${k.replaceAll('_', ' ')}</th><td class="num">${shown(r, k, v)}</td><td class="num change">${previous?.changes[k]?.text ?? ''}</td></tr>`,
      )}</tbody>
    </table>
    ${views.map(
      (v) => html`<div class="section" data-section=${v.step} data-kind=${v.kind}>
        <h2>${v.step} <span class="muted">(${v.kind === 'other' ? 'data' : v.kind})</span></h2>
        ${tablesOf(v.step).length > 0
          ? html`<p class="exports muted">Export: ${tablesOf(v.step).map(
              (t) => html`<span class="export" data-table=${t.name}>${t.name} (${t.rows} rows) <button onClick=${() => void api.download(t.csv)}>CSV</button> <button onClick=${() => void api.download(t.parquet)}>Parquet</button> </span>`,
            )}</p>`
          : null}
        ${v.charts.length > 0
          ? html`<div class="charts">${v.charts.map((c) => html`<${BarChart} spec=${c} />`)}</div>`
          : html`<pre class="data">${JSON.stringify(r.document?.sections?.[v.step], null, 2).slice(0, 20_000)}</pre>`}
      </div>`,
    )}
    ${provenance
      ? html`<details class="provenance">
          <summary>Provenance</summary>
          <dl>
            <dt>Dataset version</dt><dd><code>${provenance.dataset.datasetId}</code></dd>
            <dt>Pipeline</dt><dd>${provenance.pipeline.name} <code>${provenance.pipeline.definitionHash ?? ''}</code></dd>
            <dt>Run</dt><dd>${provenance.run.runId}, attempt ${provenance.run.attempt}</dd>
            <dt>Code</dt><dd><code>${provenance.codeVersion}</code></dd>
          </dl>
          <table>
            <thead><tr><th>File</th><th>Table</th><th>Rows</th><th>sha256</th></tr></thead>
            <tbody>${provenance.dataset.files.map((f) => html`<tr><td>${f.key}</td><td>${f.table}</td><td class="num">${f.rows}</td><td><code>${f.checksum}</code></td></tr>`)}</tbody>
          </table>
        </details>`
      : null}
  </section>`;
}
