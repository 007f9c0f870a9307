import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { InvalidSubscriptionsError, type SubscriptionProblem } from './errors.js';
import { NOTIFIABLE_EVENTS, type NotifiableEvent, type Notification } from './notification.js';

/** Where a subscription's notifications go. */
export type SubscriptionTarget =
  /** An HTTP(S) endpoint, each attempt signed with `secret` (see `verifyWebhookSignature`). */
  | { kind: 'webhook'; url: string; secret: string }
  /** An SNS topic (AWS mode): its own subscribers (email, SQS, Lambda, HTTPS, chat) take it from there. */
  | { kind: 'sns'; topicArn: string };

/** One subscription of the subscriptions file. */
export interface Subscription {
  /** Unique in the file; part of every delivery id, so renaming one re-sends nothing already sent. */
  name: string;
  /** The detail-types it wants, or `'*'` for all of {@link NOTIFIABLE_EVENTS}. */
  events: '*' | readonly NotifiableEvent[];
  /** Only this tenant's notifications; every tenant's when absent. */
  tenant?: string;
  target: SubscriptionTarget;
}

/** Whether `subscription` wants `notification`. */
export function subscriptionMatches(subscription: Subscription, notification: Notification): boolean {
  if (subscription.tenant !== undefined && subscription.tenant !== notification.tenant) return false;
  return subscription.events === '*' || subscription.events.includes(notification.type);
}

const SECRET_MIN_LENGTH = 16;
const eventName = z.union([z.literal('*'), z.enum(NOTIFIABLE_EVENTS)], { error: () => `must be "*" or one of ${NOTIFIABLE_EVENTS.map((e) => JSON.stringify(e)).join(', ')}` });

const entrySchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits or ._-'),
    url: z
      .string()
      .refine((u) => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol), 'must be an http:// or https:// URL')
      .optional(),
    topicArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, 'must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)')
      .optional(),
    secret: z.string().min(SECRET_MIN_LENGTH, `must be at least ${SECRET_MIN_LENGTH} characters`).optional(),
    /** A file holding the secret (trailing newline ignored); relative to the subscriptions file. */
    secretFile: z.string().min(1).optional(),
    /** An environment variable holding the secret. */
    secretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
    // `events: '*'` is short for `events: ['*']`.
    events: z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(eventName).min(1, 'must name at least one event (or "*")')),
    tenant: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits or ._-').optional(),
  })
  .strict();

const fileSchema = z.object({ subscriptions: z.array(z.unknown()) }).strict();

/** What resolving a subscription's secret may read. */
export interface SubscriptionsEnvironment {
  /** For `secretEnv` (the deployable's config module passes `process.env`). */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Parses a subscriptions file (YAML or JSON):
 *
 * ```yaml
 * subscriptions:
 *   - name: ops-alerts
 *     url: https://hooks.example.com/nightshift
 *     secretEnv: OPS_WEBHOOK_SECRET        # or secret: <16+ chars>, or secretFile: ./ops.secret
 *     events: [Run Failed, Dataset Rejected, Message Dead-Lettered]   # or '*'
 *     tenant: acme                         # optional: only this tenant's notifications
 *   - name: aws-alerts
 *     topicArn: arn:aws:sns:eu-west-1:123456789012:nightshift-notifications
 *     events: '*'
 * ```
 *
 * Every problem of every entry is collected, then thrown as one {@link InvalidSubscriptionsError}
 * naming the file, the entry (index and name), the field and its line.
 */
export function parseSubscriptions(text: string, file: string, environment: SubscriptionsEnvironment): Subscription[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineOf = (path: ReadonlyArray<string | number>): number | undefined => {
    const node = doc.getIn(path, true);
    return isNode(node) && node.range ? lines.linePos(node.range[0]).line : undefined;
  };
  if (doc.errors.length > 0) {
    throw new InvalidSubscriptionsError(
      file,
      doc.errors.map((e) => ({ file, entry: '', field: '', line: lines.linePos(e.pos[0]).line, message: `not valid YAML/JSON: ${e.message.split('\n')[0]}` })),
    );
  }
  const top = fileSchema.safeParse(doc.toJS());
  if (!top.success) {
    throw new InvalidSubscriptionsError(file, [{ file, entry: '', field: '', message: 'must be a map with one key, `subscriptions`: a list of subscriptions' }]);
  }
  const problems: SubscriptionProblem[] = [];
  const names = new Set<string>();
  const subscriptions: Subscription[] = [];
  top.data.subscriptions.forEach((raw, index) => {
    const rawName = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? (raw as { name: string }).name : undefined;
    const entry = `subscriptions[${index}]${rawName !== undefined ? ` "${rawName}"` : ''}`;
    const problem = (field: string, message: string, path: Array<string | number> = field ? [field] : []) => {
      const line = lineOf(['subscriptions', index, ...path]) ?? lineOf(['subscriptions', index]);
      problems.push({ file, entry, field, ...(line !== undefined ? { line } : {}), message });
    };
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
        const field = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
        // Unknown keys are reported per key, so a typo (`secert`) names itself.
        if (issue.code === 'unrecognized_keys') for (const key of issue.keys) problem(key, 'unknown field', [key]);
        else problem(field, issue.message, path);
      }
      return;
    }
    const e = parsed.data;
    if (names.has(e.name)) problem('name', `"${e.name}" is used by an earlier subscription: names must be unique`);
    names.add(e.name);
    if ((e.url === undefined) === (e.topicArn === undefined)) {
      problem('', 'needs exactly one target: `url` (a webhook) or `topicArn` (an SNS topic)');
      return;
    }
    let target: SubscriptionTarget;
    if (e.url !== undefined) {
      const sources = [e.secret, e.secretFile, e.secretEnv].filter((s) => s !== undefined).length;
      if (sources !== 1) {
        problem('secret', 'a webhook needs exactly one of `secret`, `secretFile` or `secretEnv` (its signing secret)');
        return;
      }
      const secret = resolveSecret(e, file, environment, problem);
      if (secret === undefined) return;
      target = { kind: 'webhook', url: e.url, secret };
    } else {
      if (e.secret !== undefined || e.secretFile !== undefined || e.secretEnv !== undefined) {
        problem('secret', 'an SNS topic takes no secret (SNS authenticates by IAM)');
        return;
      }
      target = { kind: 'sns', topicArn: e.topicArn! };
    }
    const events = e.events.includes('*') ? '*' : [...new Set(e.events as NotifiableEvent[])];
    subscriptions.push({ name: e.name, events, ...(e.tenant !== undefined ? { tenant: e.tenant } : {}), target });
  });
  if (problems.length > 0) throw new InvalidSubscriptionsError(file, problems);
  return subscriptions;
}

function resolveSecret(
  e: { secret?: string | undefined; secretFile?: string | undefined; secretEnv?: string | undefined },
  file: string,
  environment: SubscriptionsEnvironment,
  problem: (field: string, message: string) => void,
): string | undefined {
  let secret: string | undefined;
  if (e.secret !== undefined) return e.secret;
  if (e.secretEnv !== undefined) {
    secret = environment.env[e.secretEnv];
    if (secret === undefined || secret === '') {
      problem('secretEnv', `the environment variable ${e.secretEnv} is not set`);
      return undefined;
    }
  } else {
    const path = isAbsolute(e.secretFile!) ? e.secretFile! : resolve(dirname(file), e.secretFile!);
    try {
      secret = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problem('secretFile', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      return undefined;
    }
  }
  if (secret.length < SECRET_MIN_LENGTH) {
    problem(e.secretEnv !== undefined ? 'secretEnv' : 'secretFile', `the secret must be at least ${SECRET_MIN_LENGTH} characters`);
    return undefined;
  }
  return secret;
}

/**
 * Reads and parses the subscriptions file `file` ({@link parseSubscriptions}); a file that cannot be
 * read is an {@link InvalidSubscriptionsError} naming it. Synchronous: once, at boot.
 */
export function loadSubscriptionsFile(file: string, environment: SubscriptionsEnvironment): Subscription[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidSubscriptionsError(file, [{ file, entry: '', field: '', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }]);
  }
  return parseSubscriptions(text, file, environment);
}

