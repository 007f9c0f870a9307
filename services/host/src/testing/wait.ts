/** How long `waitFor` polls, how often, and what it waits for. */
export interface WaitOptions {
  /** Says what is awaited, as the failure should name it, e.g. "the planner queue to drain". */
  what: string;
  /** Gives up after this long. Generous by default: a loaded machine is slow, not wrong. */
  timeoutMs?: number;
  /** The pause between two observations. */
  intervalMs?: number;
}

/** A condition a test waited for did not hold in time. */
export class WaitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    /** The last value observed, or the error the last observation threw. */
    readonly lastObserved: unknown,
    options?: { cause?: unknown },
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}; last observed: ${show(lastObserved)}`, options);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Observes `observe()` until `until` holds for the observed value, and resolves that value. Tests
 * use it instead of sleeping a fixed time. An observation that throws (a file not written yet, a
 * line half written) counts as not yet; if time runs out, the error names what was awaited and the
 * last value or error observed. Tests only: production code waits on events, never by polling.
 */
export async function waitFor<T>(observe: () => T | Promise<T>, until: (value: T) => boolean, options: WaitOptions): Promise<T> {
  const { what, timeoutMs = 30_000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await observe();
      if (until(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) {
      const error = last && 'error' in last ? last.error : undefined;
      throw new WaitTimeoutError(what, timeoutMs, last && 'value' in last ? last.value : error, error === undefined ? undefined : { cause: error });
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}

function show(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 2_000 ? `${text.slice(0, 2_000)}… (${text.length} characters)` : text;
}
