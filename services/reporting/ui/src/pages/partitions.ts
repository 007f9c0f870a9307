import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { allRuns, api } from '../api.js';
import { ErrorBox, Loading } from '../components.js';
import { useLoad } from '../hooks.js';
import { cellKey, partitionMatrix } from '../model.js';
import type { Backfill } from '../types.js';

/** How many runs the matrix reads (newest first), and how many business dates it shows. */
const MAX_RUNS = 2_000;
const MAX_DATES = 30;

/**
 * Pipelines x business dates, each cell the outcome of the latest run of that pipeline and date
 * (derived from the runs list: the API has no matrix of its own), and a backfill of a pipeline
 * over a range of dates.
 */
export function PartitionsPage(): VNode {
  const runs = useLoad(() => allRuns({}, MAX_RUNS), [], { pollMs: 5_000 });
  const pipelines = useLoad(() => api.pipelines(), []);
  const matrix = useMemo(() => partitionMatrix(runs.data ?? [], (pipelines.data?.items ?? []).map((p) => p.name), MAX_DATES), [runs.data, pipelines.data]);
  const dates = [...matrix.dates].reverse();
  const [form, setForm] = useState({ pipeline: '', from: '', to: '', concurrency: 1 });
  const [accepted, setAccepted] = useState<Backfill | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);

  const pick = (pipeline: string, date?: string) => setForm({ ...form, pipeline, ...(date ? { from: date, to: date } : {}) });
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setAccepted(undefined);
    try {
      setAccepted(await api.backfill({ pipeline: form.pipeline, from: form.from, to: form.to, concurrency: form.concurrency }));
      runs.reload();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };

  return html`<section>
    <h1>Partitions</h1>
    <p class="muted">Each cell is the latest run of a pipeline for a business date. Click a pipeline or an empty cell to prepare a backfill.</p>
    <${ErrorBox} error=${runs.error ?? pipelines.error} />
    ${!runs.data
      ? runs.error ? null : html`<${Loading} />`
      : html`<div class="scroll"><table class="matrix">
          <thead><tr><th>Pipeline</th>${dates.map((d) => html`<th class="date" data-date=${d}>${d}</th>`)}</tr></thead>
          <tbody>
            ${matrix.pipelines.map(
              (p) => html`<tr data-pipeline=${p}>
                <th><button class="link" onClick=${() => pick(p)}>${p}</button></th>
                ${dates.map((d) => {
                  const cell = matrix.cells.get(cellKey(p, d));
                  return cell
                    ? html`<td class=${`cell s-${cell.status.toLowerCase()}`} data-date=${d} data-status=${cell.status}>
                        <a href=${`#/runs/${encodeURIComponent(cell.runId)}`} title=${`${p} ${d}: ${cell.status}${cell.runs > 1 ? ` (latest of ${cell.runs} runs)` : ''}`}>${cell.status.slice(0, 4)}</a>
                      </td>`
                    : html`<td class="cell empty" data-date=${d}><button class="link" title=${`backfill ${p} for ${d}`} onClick=${() => pick(p, d)}>·</button></td>`;
                })}
              </tr>`,
            )}
          </tbody>
        </table></div>
        ${dates.length === 0 ? html`<p class="muted">No runs yet.</p>` : null}`}
    <h2>Backfill</h2>
    <form class="filters backfill" onSubmit=${(e: Event) => void submit(e)}>
      <label>Pipeline
        <select name="pipeline" required value=${form.pipeline} onChange=${(e: Event) => setForm({ ...form, pipeline: (e.target as HTMLSelectElement).value })}>
          <option value="">choose…</option>
          ${(pipelines.data?.items ?? []).map((p) => html`<option value=${p.name}>${p.name}</option>`)}
        </select>
      </label>
      <label>From <input type="date" name="from" required value=${form.from} onInput=${(e: Event) => setForm({ ...form, from: (e.target as HTMLInputElement).value })} /></label>
      <label>To <input type="date" name="to" required value=${form.to} onInput=${(e: Event) => setForm({ ...form, to: (e.target as HTMLInputElement).value })} /></label>
      <label>Concurrency <input type="number" name="concurrency" min="1" max="50" value=${form.concurrency} onInput=${(e: Event) => setForm({ ...form, concurrency: Number((e.target as HTMLInputElement).value) || 1 })} /></label>
      <button type="submit">Start backfill</button>
    </form>
    <${ErrorBox} error=${error} />
    ${accepted
      ? html`<div class="notice" data-backfill=${accepted.backfillId}>Backfill <strong>${accepted.backfillId}</strong> of ${accepted.pipeline}, ${accepted.from} to ${accepted.to}: ${accepted.total} business date(s), ${accepted.status}. Its runs appear here as they start.</div>`
      : null}
  </section>`;
}
