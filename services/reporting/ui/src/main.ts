import './style.css';
import { html, render } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, apiKey, ApiError, setApiKey } from './api.js';
import { UNAUTHORIZED_EVENT } from './hooks.js';
import { PartitionsPage } from './pages/partitions.js';
import { ReportPage, ReportsPage } from './pages/reports.js';
import { RunPage } from './pages/run.js';
import { RunsPage } from './pages/runs.js';
import { useRoute } from './router.js';

/**
 * The dashboard: a single page over the REST API, routed by the URL's hash (#/runs, #/runs/<id>,
 * #/reports/<id>, #/partitions), authenticated with an API key the user pastes once per tab.
 */

/** Asks for the API key and checks it against the API before keeping it. */
function KeyForm({ message, onKey }: { message?: string; onKey: () => void }): VNode {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>(message);
  const submit = async (e: Event) => {
    e.preventDefault();
    setApiKey(key.trim());
    try {
      await api.runs({ limit: 1 });
      onKey();
    } catch (err) {
      setApiKey(null);
      setError(err instanceof ApiError && err.status === 401 ? 'The API refused that key.' : err instanceof Error ? err.message : String(err));
    }
  };
  return html`<section class="key">
    <h1>nightshift</h1>
    <form onSubmit=${(e: Event) => void submit(e)}>
      <label>API key
        <input type="password" name="apiKey" autocomplete="off" required value=${key} onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">Open dashboard</button>
    </form>
    <p class="muted">The embedded platform writes its admin key to <code>.nightshift/api-key</code> (<code>cat .nightshift/api-key</code>). The key is kept in this tab only.</p>
    ${error ? html`<div class="error" role="alert">${error}</div>` : null}
  </section>`;
}

function Page(): VNode {
  const { segments, params } = useRoute();
  const [head, id] = segments;
  if (head === 'runs' && id) return html`<${RunPage} runId=${id} />`;
  if (head === 'reports' && id) return html`<${ReportPage} reportId=${id} />`;
  if (head === 'reports') return html`<${ReportsPage} />`;
  if (head === 'partitions') return html`<${PartitionsPage} />`;
  return html`<${RunsPage} params=${params} />`;
}

function App(): VNode {
  const [hasKey, setHasKey] = useState(apiKey() !== null);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const { segments } = useRoute();
  useEffect(() => {
    const refused = () => {
      setApiKey(null);
      setMessage('The API no longer accepts the key: enter it again.');
      setHasKey(false);
    };
    window.addEventListener(UNAUTHORIZED_EVENT, refused);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, refused);
  }, []);
  if (!hasKey) return html`<${KeyForm} message=${message} onKey=${() => setHasKey(true)} />`;
  const tab = (href: string, label: string, name: string) => html`<a href=${href} class=${(segments[0] ?? 'runs') === name ? 'active' : ''}>${label}</a>`;
  return html`<header>
      <strong class="brand">nightshift</strong>
      <nav>${tab('#/runs', 'Runs', 'runs')}${tab('#/reports', 'Reports', 'reports')}${tab('#/partitions', 'Partitions', 'partitions')}</nav>
      <span class="spacer"></span>
      <a href="/docs" target="_blank" rel="noopener">API reference</a>
      <button class="link" onClick=${() => { setApiKey(null); setMessage(undefined); setHasKey(false); }}>Forget key</button>
    </header>
    <main><${Page} /></main>`;
}

render(html`<${App} />`, document.getElementById('app')!);
