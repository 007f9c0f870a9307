/** The REST API key of each running platform, by the origin of its API. */
const keys = new Map<string, string>();

/** Makes {@link apiFetch} call this platform's REST API with its admin key. */
export function registerApi(platform: { apiUrl: string; apiKey: string }): void {
  keys.set(new URL(platform.apiUrl).origin, platform.apiKey);
}

/** `fetch` with `Authorization: Bearer <key>` of the platform whose API `url` is on. */
export function apiFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const key = keys.get(new URL(url).origin);
  if (!key) throw new Error(`no platform registered for ${url}: call registerApi(platform) after starting it`);
  return fetch(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${key}` } });
}
