import type { Backfill, Page, Pipeline, Report, ReportDetail, ReportSections, Run, RunDetail } from './types.js';

/** Where the API key lives: this tab's session only (closing the tab forgets it). */
const KEY_ITEM = 'nightshift.apiKey';

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_ITEM);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
}

/** An answer of the API that is not a success: its RFC 9457 problem's title and detail when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Calls the API with the session's key; a problem answer becomes an ApiError naming the route and the API's own words. */
async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
  const key = apiKey();
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (res.ok) return res;
  let detail = res.statusText;
  try {
    const problem = (await res.json()) as { title?: string; detail?: string };
    detail = problem.detail ?? problem.title ?? detail;
  } catch {
    // Not a problem document: the status text says enough.
  }
  throw new ApiError(res.status, `${method} ${path.split('?')[0]}: ${res.status} ${detail}`);
}

async function json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  return (await call(method, path, body)).json() as Promise<T>;
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface RunFilter {
  pipeline?: string;
  status?: string;
  businessDate?: string;
  businessDateFrom?: string;
  businessDateTo?: string;
}

export const api = {
  runs: (filter: RunFilter & { limit?: number; cursor?: string }) => json<Page<Run>>('GET', `/runs${query({ ...filter })}`),
  run: (id: string) => json<RunDetail>('GET', `/runs/${encodeURIComponent(id)}?tasksLimit=1000`),
  cancel: (id: string, reason: string) => json<{ location: string }>('POST', `/runs/${encodeURIComponent(id)}/cancel`, { reason }),
  decide: (id: string, step: string, action: 'approve' | 'reject', comment?: string) =>
    json<{ location: string }>('POST', `/runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/${action}`, comment ? { comment } : {}),
  log: async (runId: string, taskId: string, attempt: number) =>
    (await call('GET', `/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(taskId)}/attempts/${attempt}/log`)).text(),
  trace: async (runId: string) => (await call('GET', `/runs/${encodeURIComponent(runId)}/trace`)).text(),
  reports: (filter: { runId?: string; limit?: number }) => json<Page<Report>>('GET', `/reports${query(filter)}`),
  report: (id: string) => json<ReportDetail>('GET', `/reports/${encodeURIComponent(id)}`),
  reportSections: (id: string) => json<ReportSections>('GET', `/reports/${encodeURIComponent(id)}/sections`),
  /** Saves an export (`path` as the sections listing gives it) under the file name the API names: the key goes in a header, which a plain link cannot send. */
  download: async (path: string) => {
    const res = await call('GET', path);
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'export';
    const url = URL.createObjectURL(await res.blob());
    const link = Object.assign(document.createElement('a'), { href: url, download: name });
    link.click();
    // Revoked once the browser has surely taken the file.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  },
  pipelines: () => json<Page<Pipeline>>('GET', '/pipelines?limit=500'),
  pipeline: (name: string) => json<Pipeline>('GET', `/pipelines/${encodeURIComponent(name)}`),
  backfill: (body: { pipeline: string; from: string; to: string; concurrency?: number }) => json<Backfill>('POST', '/backfills', body),
};

/** Every run matching `filter`, following cursors up to `max` runs (the partition matrix reads many). */
export async function allRuns(filter: RunFilter, max: number): Promise<Run[]> {
  const runs: Run[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.runs({ ...filter, limit: Math.min(500, max - runs.length), ...(cursor ? { cursor } : {}) });
    runs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && runs.length < max);
  return runs;
}
