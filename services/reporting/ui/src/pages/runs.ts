import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { api, type RunFilter } from '../api.js';
import { duration, ErrorBox, Loading, Status, time } from '../components.js';
import { useLoad } from '../hooks.js';
import { navigate } from '../router.js';
import { RUN_STATUSES } from '../types.js';

const PAGE = 100;
const POLL_MS = 3_000;

/** Runs, newest first, filtered by pipeline, status and business date (kept in the URL), refreshed every few seconds. */
export function RunsPage({ params }: { params: URLSearchParams }): VNode {
  const filter: RunFilter = {
    ...(params.get('pipeline') ? { pipeline: params.get('pipeline')! } : {}),
    ...(params.get('status') ? { status: params.get('status')! } : {}),
    ...(params.get('businessDate') ? { businessDate: params.get('businessDate')! } : {}),
  };
  const key = JSON.stringify(filter);
  const runs = useLoad(() => api.runs({ ...filter, limit: PAGE }), [key], { pollMs: POLL_MS });
  const pipelines = useLoad(() => api.pipelines(), []);
  const [draft, setDraft] = useState<RunFilter>(filter);

  const apply = (e: Event) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(draft)) if (v) q.set(k, v as string);
    navigate(`#/runs${q.size ? `?${q.toString()}` : ''}`);
  };

  return html`<section>
    <h1>Runs</h1>
    <form class="filters" onSubmit=${apply}>
      <label>Pipeline
        <select name="pipeline" value=${draft.pipeline ?? ''} onChange=${(e: Event) => setDraft({ ...draft, pipeline: (e.target as HTMLSelectElement).value })}>
          <option value="">any</option>
          ${(pipelines.data?.items ?? []).map((p) => html`<option value=${p.name}>${p.name}</option>`)}
          ${draft.pipeline && !pipelines.data?.items.some((p) => p.name === draft.pipeline) ? html`<option value=${draft.pipeline}>${draft.pipeline}</option>` : null}
        </select>
      </label>
      <label>Status
        <select name="status" value=${draft.status ?? ''} onChange=${(e: Event) => setDraft({ ...draft, status: (e.target as HTMLSelectElement).value })}>
          <option value="">any</option>
          ${RUN_STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
          <option value="PENDING,RUNNING">open (PENDING, RUNNING)</option>
        </select>
      </label>
      <label>Business date
        <input type="date" name="businessDate" value=${draft.businessDate ?? ''} onInput=${(e: Event) => setDraft({ ...draft, businessDate: (e.target as HTMLInputElement).value })} />
      </label>
      <button type="submit">Apply</button>
      ${Object.keys(filter).length > 0 ? html`<a class="button secondary" href="#/runs" onClick=${() => setDraft({})}>Clear</a>` : null}
      <span class="muted live">${runs.data ? `live · every ${POLL_MS / 1000} s` : ''}</span>
    </form>
    <${ErrorBox} error=${runs.error} />
    ${!runs.data
      ? runs.error ? null : html`<${Loading} />`
      : runs.data.items.length === 0
        ? html`<p class="muted">No runs match.</p>`
        : html`<table class="runs">
            <thead><tr><th>Run</th><th>Pipeline</th><th>Business date</th><th>Status</th><th>Tasks</th><th>Started</th><th>Duration</th><th>Reason</th></tr></thead>
            <tbody>
              ${runs.data.items.map(
                (r) => html`<tr data-run=${r.runId} data-pipeline=${r.pipeline}>
                  <td><a href=${`#/runs/${encodeURIComponent(r.runId)}`}>${r.runId}</a></td>
                  <td>${r.pipeline}</td>
                  <td>${r.businessDate}</td>
                  <td><${Status} status=${r.status} /></td>
                  <td class="num">${r.tasksTotal}</td>
                  <td>${time(r.startedAt)}</td>
                  <td>${duration(r.startedAt, r.finishedAt)}</td>
                  <td class="reason">${r.reason ?? ''}</td>
                </tr>`,
              )}
            </tbody>
          </table>
          ${runs.data.nextCursor ? html`<p class="muted">The ${PAGE} newest shown; narrow the filters to see older runs.</p>` : null}`}
  </section>`;
}
