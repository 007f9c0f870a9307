/**
 * What each client-chosen idempotency key (the REST API's `Idempotency-Key` of `POST /runs`) was
 * first used with: one binding per (tenant, key), holding a hash of the first request's body.
 *
 * Semantics every adapter keeps (`src/testing/idempotency-keys.contract.ts` checks them):
 * - `claim` is one atomic step: of concurrent first uses of a key with different bodies exactly one
 *   binds it; the others see it bound to another body.
 * - Keys are per tenant: the same key of two tenants is two bindings.
 * - A binding is kept at least `IDEMPOTENCY_KEY_RETENTION_SECONDS` (24 h) after its first use, and
 *   counts until it is deleted; a retry does not extend it. After deletion the key binds anew.
 * Errors: `StoreUnavailableError` (retryable) when the store cannot be reached; nothing else is
 * translated. Not in the contract: when exactly an expired binding is deleted, listing bindings.
 */
export interface IdempotencyKeys {
  /**
   * Binds `key` of `tenant` to `bodyHash` if it is unbound. True when the key is (now or already)
   * bound to that hash; false when it is bound to another. `now` is when the key is used: a binding
   * made now may be deleted `IDEMPOTENCY_KEY_RETENTION_SECONDS` later.
   */
  claim(tenant: string, key: string, bodyHash: string, now: Date): Promise<boolean>;
}
