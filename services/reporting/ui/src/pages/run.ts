import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Dag, duration, ErrorBox, GanttChart, Loading, Status, time } from '../components.js';
import { useLoad } from '../hooks.js';
import { ganttOf } from '../model.js';
import type { Pipeline, RunDetail, Step, Task } from '../types.js';

const POLL_MS = 2_000;
const OPEN = new Set(['PENDING', 'RUNNING']);

/** Why a step is not moving, for people: a wait's end, an approval's question and deadline, or what its job waits for. */
export function waitingReason(step: Step, pipeline: Pipeline | undefined): string | undefined {
  const def = pipeline?.steps.find((s) => s.name === step.step);
  if (step.status === 'WAITING') {
    if (def?.approval) return `waiting for approval${def.approval.description ? ` ("${def.approval.description}")` : ''} until ${time(step.waitUntil)}; the run fails if nobody answers by then`;
    return `waiting until ${time(step.waitUntil)}`;
  }
  if (step.job?.waitingReason) return step.job.waitingReason;
  if (step.job?.statusReason && step.status === 'SUBMITTED') return step.job.statusReason;
  return undefined;
}

/** A run: its steps as a DAG coloured by state, its tasks' attempts on a timeline, their logs, and what an operator can do. */
export function RunPage({ runId }: { runId: string }): VNode {
  const run = useLoad(() => api.run(runId), [runId], { pollMs: POLL_MS, keepPolling: (r) => OPEN.has(r.status) });
  const pipelineName = run.data?.pipeline;
  const pipeline = useLoad(() => (pipelineName ? api.pipeline(pipelineName) : Promise.resolve(undefined)), [pipelineName]);
  const report = useLoad(() => (run.data?.status === 'SUCCEEDED' ? api.reports({ runId }) : Promise.resolve(undefined)), [runId, run.data?.status]);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [log, setLog] = useState<{ title: string; text: string } | undefined>(undefined);
  const [actionError, setActionError] = useState<Error | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);

  if (!run.data) return html`<section><h1>Run ${runId}</h1><${ErrorBox} error=${run.error} />${run.error ? null : html`<${Loading} />`}</section>`;
  const r: RunDetail = run.data;
  const def = pipeline.data;

  const act = async (what: string, action: () => Promise<unknown>) => {
    setActionError(undefined);
    try {
      await action();
      setNotice(`${what}: accepted; the planner carries it out`);
      run.reload();
    } catch (e) {
      setActionError(e instanceof Error ? e : new Error(String(e)));
    }
  };
  const showLog = async (task: Task, attempt: number) => {
    const title = `${task.taskId}, attempt ${attempt}`;
    setLog({ title, text: 'Loading…' });
    try {
      setLog({ title, text: (await api.log(r.runId, task.taskId, attempt)) || '(the attempt wrote nothing)' });
    } catch (e) {
      setLog({ title, text: e instanceof Error ? e.message : String(e) });
    }
  };
  const showTrace = async (e: Event) => {
    e.preventDefault();
    setLog({ title: `trace ${r.traceId}`, text: 'Loading…' });
    try {
      const text = await api.trace(r.runId);
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // Not JSON: show it as it came.
      }
      setLog({ title: `trace ${r.traceId}`, text: pretty });
    } catch (err) {
      setLog({ title: `trace ${r.traceId}`, text: err instanceof Error ? err.message : String(err) });
    }
  };

  // Whether a WAITING step is a wait or an approval is in the definition: say why only once it is known (or unavailable).
  const defined = def !== undefined || pipeline.error !== undefined;
  const waiting = defined ? r.steps.map((s) => ({ step: s, why: waitingReason(s, def) })).filter((w) => w.why) : [];
  const approvals = r.steps.filter((s) => s.status === 'WAITING' && def?.steps.find((d) => d.name === s.step)?.approval);
  const tasks = selected ? r.tasks.filter((t) => t.step === selected) : r.tasks;
  const gantt = ganttOf(tasks, Date.now());
  const selectedStep = r.steps.find((s) => s.step === selected);

  return html`<section class="run" data-run=${r.runId} data-status=${r.status}>
    <h1>${r.pipeline} <span class="muted">${r.businessDate}</span> <${Status} status=${r.status} /></h1>
    <dl class="facts">
      <dt>Run</dt><dd>${r.runId}${r.attempt && r.attempt > 1 ? ` (attempt ${r.attempt})` : ''}</dd>
      <dt>Dataset</dt><dd>${r.datasetId}</dd>
      <dt>Started</dt><dd>${time(r.startedAt ?? r.createdAt)}</dd>
      <dt>Finished</dt><dd>${time(r.finishedAt)} ${r.finishedAt ? `(${duration(r.startedAt ?? r.createdAt, r.finishedAt)})` : ''}</dd>
      <dt>Progress</dt><dd>${r.progress.done}/${r.progress.total} tasks done${r.progress.failed ? `, ${r.progress.failed} failed` : ''}</dd>
      <dt>Correlation</dt><dd>${r.correlationId}</dd>
      ${r.traceId ? html`<dt>Trace</dt><dd><a class="trace" href=${`/runs/${encodeURIComponent(r.runId)}/trace`} onClick=${showTrace}>${r.traceId}</a></dd>` : null}
      ${report.data?.items[0] ? html`<dt>Report</dt><dd><a href=${`#/reports/${encodeURIComponent(report.data.items[0].reportId)}`}>${report.data.items[0].reportId}</a></dd>` : null}
    </dl>
    ${r.reason ? html`<div class=${r.status === 'FAILED' ? 'error' : 'notice'}>${r.reason}</div>` : null}
    ${waiting.map((w) => html`<div class="waiting" data-step=${w.step.step}><strong>${w.step.step}</strong>: ${w.why}</div>`)}
    <div class="actions">
      ${OPEN.has(r.status) ? html`<button class="danger" onClick=${() => void act('cancel', () => api.cancel(r.runId, 'stopped from the dashboard'))}>Cancel run</button>` : null}
      ${approvals.map(
        (s) => html`<button onClick=${() => void act(`approve ${s.step}`, () => api.decide(r.runId, s.step, 'approve', 'approved from the dashboard'))}>Approve ${s.step}</button>
          <button class="secondary" onClick=${() => void act(`reject ${s.step}`, () => api.decide(r.runId, s.step, 'reject', 'rejected from the dashboard'))}>Reject ${s.step}</button>`,
      )}
      ${notice ? html`<span class="muted">${notice}</span>` : null}
    </div>
    <${ErrorBox} error=${actionError ?? run.error} />

    <h2>Steps</h2>
    <div class="scroll"><${Dag} definition=${def?.steps ?? []} steps=${r.steps} selected=${selected} onSelect=${(s: string) => setSelected(selected === s ? undefined : s)} /></div>
    ${selectedStep
      ? html`<p class="muted">Step <strong>${selectedStep.step}</strong>: ${selectedStep.status}, ${selectedStep.succeeded}/${selectedStep.size} succeeded${selectedStep.failed ? `, ${selectedStep.failed} failed` : ''}${selectedStep.reason ? `. ${selectedStep.reason}` : ''}${selectedStep.decision ? `. ${selectedStep.decision.decision} by ${selectedStep.decision.by}${selectedStep.decision.comment ? `: ${selectedStep.decision.comment}` : ''}` : ''} · <a href="#" onClick=${(e: Event) => { e.preventDefault(); setSelected(undefined); }}>all steps</a></p>`
      : html`<p class="muted">Click a step to show only its tasks.</p>`}

    <h2>Timeline</h2>
    <div class="scroll"><${GanttChart} gantt=${gantt} /></div>

    <h2>Tasks</h2>
    ${tasks.length === 0
      ? html`<p class="muted">No task records yet.</p>`
      : html`<table class="tasks">
          <thead><tr><th>Task</th><th>Status</th><th>Started</th><th>Duration</th><th>Exit</th><th>Attempts (logs)</th></tr></thead>
          <tbody>
            ${tasks.map(
              (t) => html`<tr data-task=${t.taskId}>
                <td>${t.taskId}</td>
                <td><${Status} status=${t.status} /></td>
                <td>${time(t.startedAt)}</td>
                <td>${duration(t.startedAt, t.stoppedAt)}</td>
                <td class="num">${t.exitCode ?? ''}</td>
                <td>${t.attempts.map((a) => html`<button class="link" title=${a.reason ?? a.statusReason ?? ''} onClick=${() => void showLog(t, a.attempt)}>#${a.attempt}${a.exitCode !== undefined ? ` (exit ${a.exitCode})` : ''}</button> `)}</td>
              </tr>`,
            )}
          </tbody>
        </table>
        ${r.tasksNextCursor ? html`<p class="muted">The first ${r.tasks.length} tasks shown.</p>` : null}`}
    ${log ? html`<div class="log"><h3>${log.title} <button class="link" onClick=${() => setLog(undefined)}>close</button></h3><pre>${log.text}</pre></div>` : null}
  </section>`;
}
