import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  /** Loads again now (after an action). */
  reload: () => void;
}

/** Raised to the app when the API refuses the session's key, so it asks for another. */
export const UNAUTHORIZED_EVENT = 'nightshift:unauthorized';

/**
 * Loads `load()` when `deps` change, and again every `pollMs` while `keepPolling(data)` holds (live
 * status without a subscription: a few small GETs per page are cheap for the API). A 401 tells the
 * app to ask for a key again.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[], options: { pollMs?: number; keepPolling?: (data: T) => boolean } = {}): Loaded<T> {
  // Answers are kept with the deps they were loaded for: after a route change the page shows
  // "loading", never the previous run's or report's data under the new id.
  const key = JSON.stringify(deps);
  const [state, setState] = useState<{ key: string; data?: T; error?: Error }>({ key });
  const [tick, setTick] = useState(0);
  const latest = useRef(load);
  latest.current = load;
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const value = await latest.current();
        if (!live) return;
        setState({ key, data: value });
        if (options.pollMs && (!options.keepPolling || options.keepPolling(value))) timer = setTimeout(() => void run(), options.pollMs);
      } catch (e) {
        if (!live) return;
        if (e instanceof ApiError && e.status === 401) window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT));
        // A failed refresh keeps what was shown, with the error beside it.
        setState((s) => ({ ...(s.key === key ? s : { key }), error: e instanceof Error ? e : new Error(String(e)) }));
        if (options.pollMs) timer = setTimeout(() => void run(), options.pollMs * 2);
      }
    };
    void run();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [key, tick]);

  const current = state.key === key ? state : { data: undefined, error: undefined };
  return { data: current.data, error: current.error, reload };
}
