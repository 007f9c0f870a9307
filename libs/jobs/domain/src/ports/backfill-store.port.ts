import type { Backfill, BackfillStatus, BackfillSummary } from '../backfill/backfill.js';
import type { Page } from '../model/types.js';

/**
 * Durable backfills: one record per backfill holding every date and its run, written whole and
 * conditioned on its `version`, so that any number of processes can advance one backfill.
 *
 * Semantics every adapter keeps (`src/testing/backfill-store.contract.ts` checks them):
 * - `create` is idempotent on `backfillId` (a replay returns the stored backfill, `created: false`)
 *   and keeps the one rule that spans backfills: no two open backfills (`isOpenBackfill`) of one
 *   tenant and pipeline share a date range. Of concurrent creates of overlapping ranges exactly one
 *   succeeds; the others get BackfillOverlapError naming an open one. A backfill stops counting once
 *   it is finished (`finishedAt`), or when its creation was abandoned part-way (no record a minute
 *   after it began).
 * - `update` replaces a backfill if its stored version is `expectedVersion`; the stored version
 *   becomes `expectedVersion + 1`. Otherwise StaleStateError (NotFoundError when there is none).
 *   Only what moves is written (status, the dates' states, updatedAt, finishedAt, summary): what
 *   identifies a backfill (tenant, pipeline, range, concurrency, createdAt, requestedBy) is kept as
 *   created, whatever `next` says; `next.dates` must list the created dates, in their order.
 * - Reads are strongly consistent. A backfill of up to 10 years of dates (about 2,600) fits; a store
 *   that cannot keep every per-date `reason` whole shortens the longest ones (keeping their start).
 * - Listings are newest `createdAt` first, in an order that does not change between calls; a
 *   filtered page may hold fewer items than `limit` and still carry a `nextToken` (only an absent
 *   token ends a listing). A token is refused (InvalidPageTokenError) by another tenant's listing.
 * Errors: StoreUnavailableError (retryable) when the store cannot be reached; the above otherwise.
 * Not in the contract: multi-item transactions (none are used), the order of backfills created at
 * the same instant (fixed, adapter-defined), how soon a finished backfill leaves `listOpen`.
 */
export interface BackfillStore {
  /** Stores a new backfill (version as given, normally 0). See above for idempotency and overlaps. */
  create(backfill: Backfill): Promise<{ created: boolean; backfill: Backfill }>;
  get(backfillId: string): Promise<Backfill | undefined>;
  /** Conditional replace; see above. Returns the backfill as stored. */
  update(expectedVersion: number, next: Backfill): Promise<Backfill>;
  /** Backfills matching every filter given, without their dates (default 50, at most 500 a page). */
  list(query?: BackfillQuery): Promise<Page<BackfillSummary>>;
  /** Backfills not finished yet (of every tenant), for the sweep that advances them; any order. */
  listOpen(options?: { limit?: number; nextToken?: string }): Promise<Page<BackfillSummary>>;
}

/** Which backfills `list` lists. */
export interface BackfillQuery {
  /** Only this tenant's (`tenantOf`: a backfill without a tenant is the default tenant's). */
  tenant?: string;
  pipeline?: string;
  /** Only backfills in one of these statuses (a non-empty list). */
  status?: readonly BackfillStatus[];
  /** Page size: default 50, at most 500. */
  limit?: number;
  nextToken?: string;
}
