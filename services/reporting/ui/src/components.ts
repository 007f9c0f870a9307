import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Title, Tooltip } from 'chart.js';
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { formatDuration, layoutDag, type Gantt } from './model.js';
import type { ChartSpec } from './sections.js';
import type { PipelineStep, Step } from './types.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Title, Tooltip);

/** A status as a coloured label; the colour is the status's CSS class (style.css), shared with the DAG and matrix. */
export function Status({ status }: { status: string }): VNode {
  return html`<span class=${`status s-${status.toLowerCase()}`} data-status=${status}>${status}</span>`;
}

export function ErrorBox({ error }: { error: Error | undefined }): VNode | null {
  return error ? html`<div class="error" role="alert">${error.message}</div>` : null;
}

export function Loading(): VNode {
  return html`<div class="loading">Loading…</div>`;
}

export function time(iso: string | undefined): string {
  return iso ? new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

export function duration(from: string | undefined, to: string | undefined): string {
  return from && to ? formatDuration(Date.parse(to) - Date.parse(from)) : '';
}

const NODE_W = 150;
const NODE_H = 40;
const GAP_X = 60;
const GAP_Y = 18;

/**
 * The run's steps as a DAG (the pipeline's dependsOn and onFailure edges), each node coloured by
 * its step's state. Steps of the run that the pipeline definition lacks (it changed since) still show.
 */
export function Dag({ definition, steps, selected, onSelect }: { definition: readonly PipelineStep[]; steps: readonly Step[]; selected?: string; onSelect?: (step: string) => void }): VNode {
  const known = new Set(definition.map((s) => s.name));
  const all = [...definition, ...steps.filter((s) => !known.has(s.step)).map((s) => ({ name: s.step, dependsOn: [] }))];
  const layout = layoutDag(all);
  const status = new Map(steps.map((s) => [s.step, s]));
  const pos = new Map(layout.nodes.map((n) => [n.name, { x: 10 + n.layer * (NODE_W + GAP_X), y: 10 + n.row * (NODE_H + GAP_Y) }]));
  const width = 20 + layout.layers * (NODE_W + GAP_X) - GAP_X;
  const height = 20 + layout.rows * (NODE_H + GAP_Y) - GAP_Y;
  return html`<svg class="dag" width=${width} height=${height} viewBox=${`0 0 ${width} ${height}`} role="img" aria-label="step graph">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#8a94a6" /></marker></defs>
    ${layout.edges.map((e) => {
      const a = pos.get(e.from)!;
      const b = pos.get(e.to)!;
      const x1 = a.x + NODE_W;
      const y1 = a.y + NODE_H / 2;
      const x2 = b.x;
      const y2 = b.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      return html`<path class=${`edge ${e.kind}`} d=${`M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`} marker-end="url(#arrow)" />`;
    })}
    ${layout.nodes.map((n) => {
      const p = pos.get(n.name)!;
      const s = status.get(n.name);
      const state = s?.status ?? 'PENDING';
      const counts = s && s.size > 1 ? ` ${s.succeeded}/${s.size}` : '';
      return html`<g class=${`node s-${state.toLowerCase()}${selected === n.name ? ' selected' : ''}`} data-step=${n.name} data-status=${state} transform=${`translate(${p.x},${p.y})`} onClick=${() => onSelect?.(n.name)}>
        <title>${`${n.name}: ${state}${s?.reason ? ` — ${s.reason}` : ''}`}</title>
        <rect width=${NODE_W} height=${NODE_H} rx="6" />
        <text x="10" y="17" class="name">${n.name.length > 20 ? `${n.name.slice(0, 19)}…` : n.name}</text>
        <text x="10" y="32" class="state">${state}${counts}</text>
      </g>`;
    })}
  </svg>`;
}

const ROW_H = 18;
const LABEL_W = 190;
const CHART_W = 760;

/** Tasks' attempts on a time axis: one row per task, one bar per attempt (hover for times), a tick per tenth of the span. */
export function GanttChart({ gantt }: { gantt: Gantt }): VNode {
  if (gantt.rows.length === 0) return html`<p class="muted">No task has started yet.</p>`;
  const span = gantt.end - gantt.start;
  const x = (t: number) => LABEL_W + ((t - gantt.start) / span) * CHART_W;
  const height = 24 + gantt.rows.length * ROW_H;
  const ticks = Array.from({ length: 6 }, (_, i) => gantt.start + (span * i) / 5);
  return html`<svg class="gantt" width=${LABEL_W + CHART_W + 20} height=${height} role="img" aria-label="task timeline">
    ${ticks.map((t) => html`<g class="tick"><line x1=${x(t)} x2=${x(t)} y1="16" y2=${height} /><text x=${x(t)} y="11" text-anchor="middle">+${formatDuration(t - gantt.start) || '0 ms'}</text></g>`)}
    ${gantt.rows.map((row, i) => {
      const y = 20 + i * ROW_H;
      return html`<g class="row" data-task=${row.taskId}>
        <text x=${LABEL_W - 6} y=${y + 12} text-anchor="end" class="label">${row.taskId.length > 28 ? `${row.taskId.slice(0, 27)}…` : row.taskId}</text>
        ${row.bars.map(
          (b) => html`<rect class=${`bar ${b.outcome}`} data-attempt=${b.attempt} x=${x(b.start)} y=${y + 2} width=${Math.max(2, x(b.end) - x(b.start))} height=${ROW_H - 5} rx="2">
            <title>${`${row.taskId} attempt ${b.attempt}: ${new Date(b.start).toISOString()} → ${b.open ? 'running' : new Date(b.end).toISOString()} (${formatDuration(b.end - b.start)})`}</title>
          </rect>`,
        )}
      </g>`;
    })}
  </svg>`;
}

const PALETTE = ['#3b6fd8', '#e0823b', '#3aa17e', '#c74f6b', '#8a63c9', '#b7a23a'];

/** One Chart.js bar chart of a {@link ChartSpec}, drawn without animation (so what is on screen is final at once). */
export function BarChart({ spec }: { spec: ChartSpec }): VNode {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return undefined;
    const chart = new Chart(canvas.current, {
      type: 'bar',
      data: { labels: spec.labels, datasets: spec.datasets.map((d, i) => ({ label: d.label, data: d.data, backgroundColor: PALETTE[i % PALETTE.length] })) },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? 'y' : 'x',
        plugins: { title: { display: true, text: spec.title }, legend: { display: spec.datasets.length > 1, position: 'bottom' } },
        scales: { [spec.horizontal ? 'x' : 'y']: { title: { display: true, text: spec.unit } } },
      },
    });
    return () => chart.destroy();
  }, [spec]);
  const tall = spec.horizontal ? Math.max(260, 40 + spec.labels.length * 22) : 300;
  return html`<figure class="chart" style=${`height:${tall}px`} data-title=${spec.title}><canvas ref=${canvas} aria-label=${spec.title}></canvas></figure>`;
}
