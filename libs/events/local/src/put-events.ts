import { randomUUID } from 'node:crypto';
import type { EventBridgeEvent } from '@nightshift/contracts';
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
  return {
    event: {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: ctx.account,
      time: formatEventTime(entry.Time ?? ctx.now()),
      region: ctx.region,
      resources: [...(entry.Resources ?? [])],
      detail,
    },
  };
}

/** EventBridge writes event times at second precision: `2024-05-01T02:00:00Z`. */
export function formatEventTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function namesBus(nameOrArn: string, ctx: EnvelopeContext): boolean {
  return nameOrArn === ctx.busName || nameOrArn === `arn:aws:events:${ctx.region}:${ctx.account}:event-bus/${ctx.busName}`;
}
