import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidLogStreamError } from '../errors.js';
import type { JobLog, JobLogs } from '../ports/job-logs.port.js';

/*
 * Conformance suite for the JobLogs port. Every adapter's spec calls `describeJobLogsContract`
 * with a factory that returns the adapter and a way to write a stream as a job would, so all
 * adapters read the same streams alike. Test-only: not exported from the package index (the lib
 * build excludes `src/testing/`); adapter specs import it by relative path.
 *
 * What the contract holds: a stream's lines come back in order, joined by "\n" (whether a final
 * newline follows is the adapter's: a file keeps the one its job wrote, CloudWatch events have
 * none); `maxBytes` keeps the newest bytes, cut at a character boundary, with `truncated` set and
 * `bytes` the UTF-8 size of `text`; a missing stream is undefined; a name that is not a stream name
 * is refused with the port's InvalidLogStreamError (the rule is `logStreamNameProblem`), not
 * retryable. Adapter-specific: where a cut lands exactly (a file's last bytes include its final
 * newline), failures of the backing service.
 */

/** What a contract run needs from an adapter. */
export interface JobLogsUnderTest {
  logs: JobLogs;
  /** Writes a whole stream as its job would: each line followed by a newline, in order. */
  write(logStreamName: string, lines: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

const STREAM = 'nightshift-worker/default/0f3c2a9e4b7d4e5f8a1b2c3d4e5f6a7b';

/** `lines` as nightshift's worker writes them: `<ISO-8601> text`, one millisecond apart. */
export function stamped(lines: readonly string[], from = Date.parse('2024-05-02T21:00:00.000Z')): string[] {
  return lines.map((line, i) => `${new Date(from + i).toISOString()} ${line}`);
}

/** The text without the one final newline an adapter may add. */
function content(log: JobLog): string {
  return log.text.endsWith('\n') ? log.text.slice(0, -1) : log.text;
}

export function describeJobLogsContract(name: string, setup: () => Promise<JobLogsUnderTest>): void {
  describe(`JobLogs contract: ${name}`, () => {
    let subject: JobLogsUnderTest;
    beforeEach(async () => {
      subject = await setup();
    });
    afterEach(async () => {
      await subject.close();
    });

    /** Asserts what holds of every read: `bytes` is the text's size and the text ends the stream. */
    function expectTailOf(log: JobLog | undefined, lines: readonly string[], maxBytes: number): JobLog {
      expect(log).toBeDefined();
      const read = log as JobLog;
      expect(read.bytes).toBe(Buffer.byteLength(read.text));
      expect(read.bytes).toBeLessThanOrEqual(maxBytes);
      expect(read.text).not.toContain('\uFFFD');
      expect(lines.join('\n').endsWith(content(read))).toBe(true);
      return read;
    }

    it('reads a stream: its lines in the order written, stamped or not', async () => {
      const lines = [...stamped(['starting task tca#EQ', 'read 120 fills']), 'Error: boom', '    at runTask (run-task.js:12:7)', ...stamped(['exit 1'])];
      await subject.write(STREAM, lines);
      const log = await subject.logs.read(STREAM);
      expect(log).toMatchObject({ truncated: false });
      expect(content(expectTailOf(log, lines, 1024 * 1024))).toBe(lines.join('\n'));
    });

    it('reads an empty stream as empty text', async () => {
      await subject.write(STREAM, []);
      expect(await subject.logs.read(STREAM)).toEqual({ text: '', truncated: false, bytes: 0 });
    });

    it('answers undefined for a stream that does not exist', async () => {
      await subject.write(STREAM, ['other stream']);
      expect(await subject.logs.read('nightshift-worker/default/missing')).toBeUndefined();
      expect(await subject.logs.read('no-such-definition/default/0f3c2a9e')).toBeUndefined();
    });

    it('keeps the newest lines within maxBytes and says the beginning was cut', async () => {
      const lines = stamped(Array.from({ length: 50 }, (_, i) => `line ${i + 1}`));
      await subject.write(STREAM, lines);
      const log = expectTailOf(await subject.logs.read(STREAM, { maxBytes: 100 }), lines, 100);
      expect(log.truncated).toBe(true);
      expect(log.bytes).toBeGreaterThanOrEqual(100 - 4); // at most the dropped part of a character and a newline
      expect(content(log).endsWith(`\n${lines.at(-2)}\n${lines.at(-1)}`)).toBe(true);

      const whole = await subject.logs.read(STREAM, { maxBytes: Buffer.byteLength(lines.join('\n')) + 1 });
      expect(whole).toMatchObject({ truncated: false });
      expect(content(whole as JobLog)).toBe(lines.join('\n'));
    });

    it('cuts at a character boundary, never inside one', async () => {
      const lines = ['début', 'éèà→€ ok', '日本語のログ'];
      await subject.write(STREAM, lines);
      for (let maxBytes = 1; maxBytes <= 40; maxBytes += 1) {
        const log = expectTailOf(await subject.logs.read(STREAM, { maxBytes }), lines, maxBytes);
        expect(log.bytes, `maxBytes ${maxBytes}`).toBeGreaterThanOrEqual(Math.max(0, maxBytes - 4));
      }
    });

    it('keeps the newest 1 MiB by default', async () => {
      // 12,000 lines of 100 bytes: more than one page of CloudWatch's GetLogEvents (10,000 events).
      const lines = stamped(Array.from({ length: 12_000 }, (_, i) => `${String(i).padStart(5, '0')} ${'x'.repeat(69)}`));
      await subject.write(STREAM, lines);
      const log = expectTailOf(await subject.logs.read(STREAM), lines, 1024 * 1024);
      expect(log.truncated).toBe(true);
      expect(log.bytes).toBeGreaterThan(1024 * 1024 - 4);
      expect(content(log).endsWith(lines.at(-1) as string)).toBe(true);
    });

    it('refuses a name that is not a stream name, before reading anything', async () => {
      await subject.write(STREAM, ['x']);
      for (const bad of ['../secret', 'a/../../secret', '/etc/passwd', 'a//b', 'a/', '', 'a\\b', 'a/b.txt', 'a:b', 'a*b', 'x'.repeat(513)]) {
        const error = await subject.logs.read(bad).catch((e: unknown) => e);
        expect(error, JSON.stringify(bad)).toBeInstanceOf(InvalidLogStreamError);
        expect(error, JSON.stringify(bad)).toMatchObject({ logStreamName: bad, retryable: false });
      }
    });

    it('refuses a maxBytes that is not a positive integer', async () => {
      await subject.write(STREAM, ['x']);
      for (const maxBytes of [0, -1, 1.5, Number.NaN]) {
        await expect(subject.logs.read(STREAM, { maxBytes }), String(maxBytes)).rejects.toMatchObject({ retryable: false });
      }
    });
  });
}
