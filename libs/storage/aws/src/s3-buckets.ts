import type { S3Client } from '@aws-sdk/client-s3';
import { PrefixRoutedObjectStore, type ObjectStore, type ObjectStoreRoute } from '@nightshift/storage-domain';
import { S3ObjectStore } from './s3-object-store.js';

/**
 * The prefixes that may have buckets of their own: where upstream lands data, and where oversized
 * event details are claim-checked (events-domain's `CLAIM_CHECK_PREFIX`; the platform's spec holds
 * them equal). The deployment (infra/) routes its grants by the same table.
 */
export const S3_BUCKET_PREFIXES = { landing: 'landing/', claimChecks: 'claim-checks/' } as const;

/**
 * The buckets of nightshift's object store in aws mode: one bucket for every key, or the landing
 * and claim-check prefixes in buckets of their own, so that each bucket has its own lifecycle,
 * versioning and access policy. Keys are the same whichever bucket holds them (the landing bucket
 * holds `landing/...` keys), so IAM policies and operators name the same keys as the code.
 */
export interface S3Buckets {
  /** Every key no other bucket takes: what the platform writes (`datasets/`, `runs/`, `reports/`). */
  bucket: string;
  /** `landing/` keys, where upstream lands data. Default (unset): `bucket`. */
  landingBucket?: string | undefined;
  /** `claim-checks/` keys, oversized event details. Default (unset): `bucket`. */
  claimCheckBucket?: string | undefined;
}

/**
 * The object store on `buckets`: a plain {@link S3ObjectStore} when every key is in `bucket` (no
 * other bucket set, or each the same as `bucket`), else a `PrefixRoutedObjectStore` sending each
 * prefix with a bucket of its own there and every other key to `bucket`.
 */
export function s3ObjectStoreForBuckets(client: S3Client, buckets: S3Buckets): ObjectStore {
  const main = new S3ObjectStore(client, { bucket: buckets.bucket });
  const byBucket = new Map<string, S3ObjectStore>();
  const routes: ObjectStoreRoute[] = [];
  for (const [prefix, bucket] of [
    [S3_BUCKET_PREFIXES.landing, buckets.landingBucket],
    [S3_BUCKET_PREFIXES.claimChecks, buckets.claimCheckBucket],
  ] as const) {
    if (bucket === undefined || bucket === buckets.bucket) continue;
    const store = byBucket.get(bucket) ?? new S3ObjectStore(client, { bucket });
    byBucket.set(bucket, store);
    routes.push({ prefix, store });
  }
  return routes.length === 0 ? main : new PrefixRoutedObjectStore(routes, main);
}
