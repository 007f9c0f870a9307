import { readFileSync } from 'node:fs';
import { readFile, readdir, unlink } from 'node:fs/promises';
import { z } from 'zod';
import { eventBridgeEnvelopeSchema, type EventBridgeEvent } from '@nightshift/contracts';
import { CorruptMessageFileError, InvalidEventError } from './errors.js';

/** A message file: `queues/<queue>/` or `queues/<queue>-dlq/`, `<enqueued epoch ms, 13 digits>-<messageId>.json`. */
const messageRecordSchema = z.object({
  format: z.literal(1),
  messageId: z.string().min(1),
  enqueuedAt: z.string(),
  receiveCount: z.number().int().nonnegative(),
  /** Epoch ms before which the message is not delivered (0: visible). */
  visibleAt: z.number(),
  lastError: z.string().optional(),
  deadLetteredAt: z.string().optional(),
  deadLetterReason: z.string().optional(),
  event: eventBridgeEnvelopeSchema,
});
export type MessageRecord = z.infer<typeof messageRecordSchema> & { event: EventBridgeEvent };

export function messageFileName(enqueuedAtMs: number, messageId: string): string {
  return `${String(enqueuedAtMs).padStart(13, '0')}-${messageId}.json`;
}

/** The message files of a queue directory, oldest first (by name: enqueue time). */
export async function listMessageFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
}

/**
 * Reads a message file. Throws `CorruptMessageFileError` for content the bus did not write (or that
 * was edited), and the file system's error (`ENOENT`, `EACCES`, ...) if it cannot be read.
 */
export async function readMessageFile(path: string): Promise<{ record: MessageRecord; size: number }> {
  return parseMessageFile(path, await readFile(path));
}

/** {@link readMessageFile}, blocking: for the one synchronous caller (`listDeadLetters`). */
export function readMessageFileSync(path: string): MessageRecord {
  return parseMessageFile(path, readFileSync(path)).record;
}

function parseMessageFile(path: string, data: Buffer): { record: MessageRecord; size: number } {
  try {
    return { record: messageRecordSchema.parse(JSON.parse(data.toString('utf8'))) as MessageRecord, size: data.length };
  } catch (e) {
    throw new CorruptMessageFileError(path, { cause: e });
  }
}

/**
 * A message file's content, checked against the schema the bus loads it with, so that nothing it
 * writes can fail its next start (`InvalidEventError` instead; every ingress checks before this).
 */
export function serialize(record: MessageRecord): string {
  const checked = messageRecordSchema.safeParse(record);
  if (!checked.success) {
    throw new InvalidEventError(checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), { cause: checked.error });
  }
  return JSON.stringify(record);
}

/** When a record entered its queue, epoch ms; a hand-edited date that does not parse counts as `fallbackMs`. */
export function enqueuedAtMsOf(record: MessageRecord, fallbackMs: number): number {
  const ms = Date.parse(record.enqueuedAt);
  return Number.isFinite(ms) ? ms : fallbackMs;
}

export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}
