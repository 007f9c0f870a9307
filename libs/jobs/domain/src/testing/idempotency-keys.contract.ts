import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IdempotencyKeys } from '../ports/idempotency-keys.port.js';

/*
 * Conformance suite for the IdempotencyKeys port, run by every adapter's spec with a factory that
 * returns an empty store. Test-only: not exported from the package index; adapter specs import it
 * by relative path. Expiry and deletion are the adapter's (its spec drives its clock).
 */

/** What a contract run needs from an adapter: an empty store and a way to release it. */
export interface IdempotencyKeysUnderTest {
  keys: IdempotencyKeys;
  close(): Promise<void>;
}

const NOW = new Date('2024-05-02T21:00:00.000Z');
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

/** Registers the IdempotencyKeys conformance tests under `describe(name)`. */
export function describeIdempotencyKeysContract(name: string, make: () => Promise<IdempotencyKeysUnderTest>): void {
  describe(`IdempotencyKeys contract: ${name}`, () => {
    let subject: IdempotencyKeysUnderTest;
    let keys: IdempotencyKeys;
    beforeEach(async () => {
      subject = await make();
      keys = subject.keys;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('binds a key to the first body, answers true to that body again and false to another, whenever asked', async () => {
      expect(await keys.claim('acme', 'nightly-1', HASH_A, NOW)).toBe(true);
      expect(await keys.claim('acme', 'nightly-1', HASH_A, new Date(NOW.getTime() + 60_000))).toBe(true);
      expect(await keys.claim('acme', 'nightly-1', HASH_B, NOW)).toBe(false);
      // A refusal changes nothing: the key still answers its first body.
      expect(await keys.claim('acme', 'nightly-1', HASH_A, NOW)).toBe(true);
    });

    it("keeps keys per tenant: one tenant's key never binds another's", async () => {
      expect(await keys.claim('acme', 'shared', HASH_A, NOW)).toBe(true);
      expect(await keys.claim('globex', 'shared', HASH_B, NOW)).toBe(true);
      expect(await keys.claim('acme', 'shared', HASH_B, NOW)).toBe(false);
      expect(await keys.claim('globex', 'shared', HASH_A, NOW)).toBe(false);
    });

    it('keeps keys apart that a naive concatenation of tenant and key would merge', async () => {
      expect(await keys.claim('a', 'b:c', HASH_A, NOW)).toBe(true);
      expect(await keys.claim('a:b', 'c', HASH_B, NOW)).toBe(true);
      expect(await keys.claim('a#b', 'c', HASH_B, NOW)).toBe(true);
      expect(await keys.claim('a', 'b#c', HASH_A, NOW)).toBe(true);
      expect(await keys.claim('a', 'b#c', HASH_B, NOW)).toBe(false);
    });

    it('lets exactly one body win when first uses of a key with different bodies race', async () => {
      const hashes = [HASH_A, HASH_B, 'c'.repeat(64), 'd'.repeat(64)];
      const results = await Promise.all(hashes.map((h) => keys.claim('acme', 'raced', h, NOW)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = hashes[results.indexOf(true)]!;
      expect(await keys.claim('acme', 'raced', winner, NOW)).toBe(true);
    });

    it('answers true to every one of concurrent uses of a key with the same body', async () => {
      const results = await Promise.all([1, 2, 3, 4].map(() => keys.claim('acme', 'retried', HASH_A, NOW)));
      expect(results).toEqual([true, true, true, true]);
    });
  });
}
