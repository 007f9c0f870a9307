import { randomUUID } from 'node:crypto';
import { eventBridgeEnvelopeSchema, type EventBridgeEvent } from '@nightshift/contracts';
import {
  entrySize,
  PUT_EVENTS_MAX_ENTRIES,
  PUT_EVENTS_MAX_TOTAL_BYTES,
  type PutEventsRequestEntry,
} from '@nightshift/events-domain';
import { PutEventsValidationError } from './errors.js';

/** The limits of the contract envelope (`eventBridgeEnvelopeSchema`); enforced here so a bad event fails at publish, not in every consumer. */
const MAX_SOURCE_CHARS = 256;
const MAX_DETAIL_TYPE_CHARS = 128;

/**
 * How deep a Detail may nest: EventBridge documents that PutEvents "will only process nested JSON up
 * to 1000 levels deep". Deeper values would also overflow the stack of every recursive walk of the
 * event (JSON.stringify when it is written, structuredClone when it is delivered).
 */
export const MAX_DETAIL_DEPTH = 1000;

/**
 * The `Time` values an event can carry: the event's `time` is an RFC 3339 timestamp, whose year has
 * four digits (0000-9999), at second precision. A Date outside it would be written as `+010000-...`,
 * which the envelope schema (and any RFC 3339 reader) refuses.
 */
const MIN_EVENT_TIME_MS = Date.parse('0000-01-01T00:00:00Z');
const MAX_EVENT_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** Envelope fields, as `eventBridgeEnvelopeSchema` names them, and the PutEvents parameter each comes from. */
const PARAMETER_OF: Readonly<Record<string, string>> = {
  source: 'Source',
  'detail-type': 'DetailType',
  time: 'Time',
  resources: 'Resources',
  detail: 'Detail',
};
/**
 * Rejects what EventBridge rejects as a whole request (HTTP 400 ValidationException), before
 * anything is written: no entries, more than 10, or more than 256 KiB in total.
 */
export function validatePutEventsRequest(entries: readonly PutEventsRequestEntry[]): void {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new PutEventsValidationError(
      "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  }
  if (entries.length > PUT_EVENTS_MAX_ENTRIES) {
    throw new PutEventsValidationError(
      "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: " +
        `Member must have length less than or equal to ${PUT_EVENTS_MAX_ENTRIES}`,
    );
  }
  const total = entries.reduce((sum, e) => sum + entrySize(e), 0);
  if (total > PUT_EVENTS_MAX_TOTAL_BYTES) {
    throw new PutEventsValidationError('Total size of the entries in the request is over the limit.');
  }
}

/** Where the envelope's fixed fields come from. */
export interface EnvelopeContext {
  account: string;
  region: string;
  busName: string;
  now: () => Date;
}

/**
 * Validates one entry the way EventBridge does and builds the event it becomes, or returns the
 * per-entry error EventBridge would report (same codes, same messages where AWS's are known).
 */
export function entryToEvent(
  entry: PutEventsRequestEntry,
  ctx: EnvelopeContext,
): { event: EventBridgeEvent } | { ErrorCode: string; ErrorMessage: string } {
  const invalid = (param: string, reason: string) => ({
    ErrorCode: 'InvalidArgument',
    ErrorMessage: `Parameter ${param} is not valid. Reason: ${reason}`,
  });
  if (typeof entry.Source !== 'string' || entry.Source === '') return invalid('Source', 'Source is a required argument.');
  if (typeof entry.DetailType !== 'string' || entry.DetailType === '') {
    return invalid('DetailType', 'DetailType is a required argument.');
  }
  if (typeof entry.Detail !== 'string' || entry.Detail === '') return invalid('Detail', 'Detail is a required argument.');
  if (entry.Source.length > MAX_SOURCE_CHARS) return invalid('Source', `Source is longer than ${MAX_SOURCE_CHARS} characters.`);
  if (entry.DetailType.length > MAX_DETAIL_TYPE_CHARS) {
    return invalid('DetailType', `DetailType is longer than ${MAX_DETAIL_TYPE_CHARS} characters.`);
  }
  if (entry.Resources !== undefined && (!Array.isArray(entry.Resources) || entry.Resources.some((r) => typeof r !== 'string'))) {
    return invalid('Resources', 'Resources must be a list of strings.');
  }
  if (entry.Time !== undefined && !(entry.Time instanceof Date && Number.isFinite(entry.Time.getTime()))) {
    return invalid('Time', 'Time is not a valid timestamp.');
  }
  if (entry.Time !== undefined && !(entry.Time.getTime() >= MIN_EVENT_TIME_MS && entry.Time.getTime() <= MAX_EVENT_TIME_MS)) {
    return invalid('Time', 'Time must be between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z (an RFC 3339 timestamp).');
  }
  if (entry.EventBusName !== undefined && !namesBus(entry.EventBusName, ctx)) {
    return invalid(
      'EventBusName',
      `Event bus ${entry.EventBusName} does not exist on the embedded bus (it has only ${JSON.stringify(ctx.busName)}).`,
    );
  }
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (nestsDeeperThan(detail, MAX_DETAIL_DEPTH)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: `Detail is malformed: it nests deeper than ${MAX_DETAIL_DEPTH} levels.` };
  }
  const event: EventBridgeEvent = {
    version: '0',
    id: randomUUID(),
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: ctx.account,
    time: formatEventTime(entry.Time ?? ctx.now()),
    region: ctx.region,
    resources: [...(entry.Resources ?? [])],
    detail,
  };
  // The schema the bus loads its files with: what it accepts here, it can always load again.
  const checked = eventBridgeEnvelopeSchema.safeParse(event);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const field = String(issue?.path[0] ?? '');
    return invalid(PARAMETER_OF[field] ?? field, `${field}: ${issue?.message ?? 'invalid'}`);
  }
  return { event };
}

/**
 * Refuses (with `InvalidEventError`'s reason) what the bus could not store and load back: an event
 * the envelope schema refuses, or a detail nested deeper than {@link MAX_DETAIL_DEPTH}. For events
 * that arrive already built (SQS SendMessage); PutEvents entries go through {@link entryToEvent}.
 */
export function storableEventProblem(event: unknown): string | undefined {
  const checked = eventBridgeEnvelopeSchema.safeParse(event);
  if (!checked.success) {
    return checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  }
  if (nestsDeeperThan(checked.data.detail, MAX_DETAIL_DEPTH)) return `detail: nests deeper than ${MAX_DETAIL_DEPTH} levels`;
  return undefined;
}

/** Whether `value` has arrays or objects nested more than `limit` deep; iterative, so no depth can overflow the stack. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** EventBridge writes event times at second precision: `2024-05-01T02:00:00Z`. */
export function formatEventTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function namesBus(nameOrArn: string, ctx: EnvelopeContext): boolean {
  return nameOrArn === ctx.busName || nameOrArn === `arn:aws:events:${ctx.region}:${ctx.account}:event-bus/${ctx.busName}`;
}
