import { z } from 'zod';
import { EVENT_CATALOG } from './catalog.js';
import { SERVICE_RULES } from './rules.js';

/** Renders docs/events.md from the catalog and the rules, so the doc cannot drift from the code. */
export function renderEventCatalogMarkdown(): string {
  const lines: string[] = [
    '# Event catalog',
    '',
    '<!-- Generated from libs/contracts (EVENT_CATALOG, SERVICE_RULES) by `npm run docs:events`; a test fails when it is stale. -->',
    '',
    'Every event is an EventBridge event (`version`, `id`, `detail-type`, `source`, `account`, `time`, `region`, `resources`, `detail`).',
    "Events nightshift emits wrap their data in `{ metadata: { eventId, correlationId, occurredAt, traceparent?, tenant? }, data }`;",
    "upstream events (Dataset Landed) and AWS Batch's own events keep their plain form.",
    '',
    '| detail-type | source | producer | consumers | envelope |',
    '|---|---|---|---|---|',
  ];
  for (const [type, c] of Object.entries(EVENT_CATALOG)) {
    const source = 'source' in c && c.source ? `\`${c.source}\`` : 'any';
    lines.push(`| ${type} | ${source} | ${c.producer} | ${c.consumers.join(', ')} | ${c.enveloped ? 'metadata + data' : 'plain'} |`);
  }
  lines.push('', '## Rules (one queue per service)', '');
  for (const [service, rules] of Object.entries(SERVICE_RULES)) {
    for (const r of rules) lines.push(`- **${service}** \`${r.name}\`: ${r.description}`, '', '  ```json', `  ${JSON.stringify(r.eventPattern)}`, '  ```', '');
  }
  lines.push('## Detail schemas', '');
  for (const [type, c] of Object.entries(EVENT_CATALOG)) {
    lines.push(`### ${type} (v${c.version})`, '', '```json', JSON.stringify(z.toJSONSchema(c.detail, { unrepresentable: 'any', io: 'input' }), null, 2), '```', '');
  }
  return lines.join('\n');
}
