// Writes docs/events.md from the built contracts lib (npm run docs:events).
import { writeFileSync } from 'node:fs';
import { renderEventCatalogMarkdown } from '@nightshift/contracts';

writeFileSync(new URL('../docs/events.md', import.meta.url), renderEventCatalogMarkdown());
