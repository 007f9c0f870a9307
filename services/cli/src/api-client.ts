import { PROBLEM_MEDIA_TYPE, problemSchema, type Problem } from '@nightshift/api-contract';
import type { z } from 'zod';
import { ApiAnswerError, ApiProblemError, PlatformUnreachableError } from './errors.js';

/** Where the REST API is and how to authenticate to it. */
export interface ApiConnection {
  /** Base URL, without a trailing `/`. */
  apiUrl: string;
  /** The bearer token, read when the first request needs it (a missing one is a CliUsageError then). */
  token(): Promise<string>;
  /** Where the token came from (`--token`, NIGHTSHIFT_API_TOKEN, a file), for a 401's message. */
  tokenSource(): string;
}

/** An answer of the API: as its contract parsed it, and the JSON as sent (what `--json` prints). */
export interface ApiAnswer<T> {
  data: T;
  json: unknown;
}

/** How long one request may take before the API counts as not answering. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The REST API as the CLI calls it: bearer token on every request, every answer parsed with its
 * `@nightshift/api-contract` schema, every refusal an {@link ApiProblemError} carrying the RFC 9457
 * problem, and a platform that does not answer a {@link PlatformUnreachableError}.
 */
export class PlatformApiClient {
  constructor(private readonly connection: ApiConnection) {}

  get apiUrl(): string {
    return this.connection.apiUrl;
  }

  /** GET `path` (already URL-encoded), parsed with `schema`; `what` names the resource in errors. */
  async get<S extends z.ZodType>(path: string, schema: S, what: string): Promise<ApiAnswer<z.output<S>>> {
    return this.parse(await this.request('GET', path), schema, `GET ${path}`, what);
  }

  /** POST a JSON body to `path`, the answer parsed with `schema`. */
  async post<S extends z.ZodType>(path: string, body: unknown, schema: S, what: string, headers: Record<string, string> = {}): Promise<ApiAnswer<z.output<S>>> {
    return this.parse(await this.request('POST', path, body, headers), schema, `POST ${path}`, what);
  }

  /** GET a text resource (an attempt's log). */
  async text(path: string): Promise<string> {
    return (await this.request('GET', path)).text();
  }

  private async request(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const url = `${this.connection.apiUrl}${path}`;
    const token = await this.connection.token();
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: `application/json, ${PROBLEM_MEDIA_TYPE}, text/plain`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      const reason = networkFailure(e);
      if (reason) throw new PlatformUnreachableError(this.connection.apiUrl, reason, { cause: e });
      throw e;
    }
    if (!response.ok) throw await this.problemOf(response, `${method} ${path}`);
    return response;
  }

  private async parse<S extends z.ZodType>(response: Response, schema: S, call: string, what: string): Promise<ApiAnswer<z.output<S>>> {
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new ApiAnswerError(`${call} answered ${response.status} with a body that is not JSON`, { cause });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new ApiAnswerError(`${call} answered a ${what} its contract does not allow (${issues}): is the CLI as new as the platform?`, { cause: parsed.error });
    }
    return { data: parsed.data, json };
  }

  /** The refusal as an ApiProblemError: the problem document when the API sent one, else one made of the status and body. */
  private async problemOf(response: Response, call: string): Promise<ApiProblemError> {
    const text = await response.text();
    let problem: Problem | undefined;
    try {
      const parsed = problemSchema.safeParse(JSON.parse(text));
      if (parsed.success) problem = parsed.data;
    } catch {
      // Not JSON: a proxy's page, say; described below from the status and the text.
    }
    problem ??= { type: 'about:blank', title: response.statusText, status: response.status, detail: `${call}: ${text.trim().slice(0, 200) || response.statusText}` };
    // Every invalid field, unless the detail already names it.
    const unnamed = (problem.problems ?? []).filter((p) => !problem.detail.includes(p.path));
    const fields = unnamed.length > 0 ? `: ${unnamed.map((p) => `${p.path}: ${p.message}`).join('; ')}` : '';
    const hint = response.status === 401 || response.status === 403 ? `; token from ${this.connection.tokenSource()}` : '';
    return new ApiProblemError(response.status, problem, `${problem.detail}${fields} (HTTP ${response.status}${hint})`);
  }
}

/** Node's socket error codes that mean nothing answered (or the answer never came). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/**
 * Why a request got no answer, from what `fetch` threw: a socket error code (found in its `cause`,
 * or inside the AggregateError of a connect that tried several addresses), or a timeout; undefined
 * for anything else, which is rethrown as it came.
 */
export function networkFailure(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined;
  const { name, code, cause, errors } = error as { name?: unknown; code?: unknown; cause?: unknown; errors?: unknown };
  if (name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  if (Array.isArray(errors)) {
    for (const e of errors) {
      const found = networkFailure(e, depth + 1);
      if (found) return found;
    }
  }
  return networkFailure(cause, depth + 1);
}
