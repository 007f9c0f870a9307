import { EventTooLargeError } from '../errors.js';
import type { OutgoingEvent } from '../ports/event-publisher.port.js';
import type { PutEventsRequestEntry } from '../ports/put-events.port.js';

/** EventBridge's limit on one PutEvents entry (and on a whole request). */
export const MAX_EVENT_BYTES = 256 * 1024;

/**
 * An event's size as EventBridge counts it: the UTF-8 bytes of source, detail-type, the JSON
 * detail and each resource. Uses no Node API, so the domain can check before it writes.
 */
export function eventSize(event: Pick<OutgoingEvent, 'source' | 'detailType' | 'detail' | 'resources'>): number {
  let size = 0;
  for (const s of [event.source, event.detailType, JSON.stringify(event.detail) ?? '', ...(event.resources ?? [])]) size += utf8Length(s);
  return size;
}

/**
 * The size guard every publish of nightshift's own events passes: a list that grows with a run
 * belongs in the object store, referenced from the event (claim-check), never inline.
 * @throws EventTooLargeError (not retryable: the same event will not shrink)
 */
export function assertEventFits(event: Pick<OutgoingEvent, 'source' | 'detailType' | 'detail' | 'resources'>): void {
  const size = eventSize(event);
  if (size > MAX_EVENT_BYTES) throw new EventTooLargeError(event.detailType, size, MAX_EVENT_BYTES);
}

/** A PutEvents entry's size as EventBridge computes it (Time counts 14 bytes; strings count their UTF-8 bytes). */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time !== undefined ? 14 : 0;
  for (const s of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (typeof s === 'string') size += utf8Length(s);
  }
  return size;
}

/** UTF-8 byte length of a string, without Node's Buffer. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
