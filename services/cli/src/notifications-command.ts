import { z } from 'zod';
import { intFlag, parseCommandLine } from './args.js';
import type { CliIo, Command } from './command.js';
import type { CliEnvironment } from './config.js';
import { CliUsageError } from './errors.js';
import { clip, formatTable, formatTime } from './format.js';
import { PAGING, pages, printListing } from './listing.js';
import { PLATFORM_FLAGS, PLATFORM_FLAGS_USAGE, platformContext, queryString, segment } from './platform-options.js';

/** What the CLI reads of a delivery (`GET /notifications/deliveries`; the API documents the rest). */
const deliverySchema = z.object({
  deliveryId: z.string(),
  subscription: z.string(),
  type: z.string(),
  status: z.string(),
  attempts: z.number(),
  lastError: z.string().optional(),
  lastStatus: z.number().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const deliveriesPageSchema = z.object({ items: z.array(deliverySchema), nextCursor: z.string().optional() });
const STATUSES = ['PENDING', 'DELIVERED', 'DEAD'];

export const notificationsCommand: Command = {
  name: 'notifications',
  summary: 'list notification deliveries (webhooks, SNS) with status and last error, or redeliver a dead one',
  usage: `nightshift notifications list [--status PENDING|DELIVERED|DEAD] [--limit N] [--cursor C] [--all]
nightshift notifications redeliver DELIVERY_ID

  list       deliveries newest first: subscription, event type, status, attempts, last HTTP status and error
  redeliver  put a DEAD delivery back: attempted again from its first attempt (admin token)

${PLATFORM_FLAGS_USAGE}`,
  async run(argv: string[], io: CliIo, env: CliEnvironment) {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h') return null;
    if (sub === 'list') {
      const { values } = parseCommandLine(rest, { ...PLATFORM_FLAGS, ...PAGING, status: { type: 'string' } }, { min: 0, max: 0, names: '' });
      if (values['help']) return null;
      const status = typeof values['status'] === 'string' ? values['status'].toUpperCase() : undefined;
      if (status !== undefined && !STATUSES.includes(status)) throw new CliUsageError(`--status must be one of ${STATUSES.join(', ')}, got ${String(values['status'])}`);
      const ctx = platformContext(values, env, io);
      const query = { status, limit: intFlag(values, 'limit', 1) };
      const listing = await pages(ctx, (cursor) => `/notifications/deliveries${queryString({ ...query, cursor })}`, deliveriesPageSchema, 'page of notification deliveries', values);
      const table = formatTable(
        ['DELIVERY', 'SUBSCRIPTION', 'TYPE', 'STATUS', 'ATTEMPTS', 'HTTP', 'UPDATED', 'LAST ERROR'],
        listing.items.map((d) => [d.deliveryId, d.subscription, d.type, d.status, String(d.attempts), d.lastStatus !== undefined ? String(d.lastStatus) : '-', formatTime(d.updatedAt), clip(d.lastError ?? '', 60)]),
      );
      printListing(ctx, listing, table, `no notification deliveries${status ? ` ${status}` : ''}`);
      return undefined;
    }
    if (sub === 'redeliver') {
      const { values, positionals } = parseCommandLine(rest, { ...PLATFORM_FLAGS }, { min: 1, max: 1, names: 'DELIVERY_ID' });
      if (values['help']) return null;
      const ctx = platformContext(values, env, io);
      const { data, json } = await ctx.api.post(`/notifications/deliveries/${segment(positionals[0]!)}/redeliver`, {}, deliverySchema, 'delivery');
      if (ctx.json) ctx.print(JSON.stringify(json, null, 2));
      else ctx.print(`${data.deliveryId} (${data.type} to ${data.subscription}) is ${data.status} again: it will be attempted shortly`);
      return undefined;
    }
    throw new CliUsageError(sub === undefined ? 'missing subcommand (list, redeliver)' : `unknown subcommand "${sub}" (expected list, redeliver)`);
  },
};
