import { useEffect, useState } from 'preact/hooks';

/** A hash route: `#/runs/<id>?x=y` -> path segments ['runs', '<id>'] and the query. */
export interface Route {
  segments: string[];
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = raw.split('?', 2) as [string?, string?];
  return { segments: path.split('/').filter((s) => s.length > 0).map(decodeURIComponent), params: new URLSearchParams(search) };
}

export function navigate(hash: string): void {
  window.location.hash = hash;
}

/** The current route, following `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
