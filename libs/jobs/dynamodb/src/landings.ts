import {
  LANDING_REJECTION_RETENTION_SECONDS,
  expiresAtEpochSeconds,
  type Clock,
  type DatasetVersion,
  type LandingAcceptance,
  type LandingOutcome,
  type LandingRejection,
} from '@nightshift/jobs-domain';
import type { DynamoTable } from './dynamo-table.js';
import { TTL_ATTRIBUTE, datasetVersionKey, landedEventPartition, landingOutcomeKey, stripInternal } from './keys.js';

/**
 * Bytes of reasons a rejection record keeps (as JSON): DynamoDB's items stop at 400 KB, and a
 * landing may have up to 10 000 problems. The first ones that fit are kept, the rest counted.
 */
export const MAX_STORED_REASON_BYTES = 300_000;

/*
 * What became of each landing, in the landed event's partition (`LANDED#<id>`): the claim
 * registerDatasetVersion writes (SK `LANDED`: the version the landing takes) answers for a landing
 * that registered a version; an outcome record (SK `OUTCOME`) for one that was rejected or answered
 * with an earlier version. Both are read with one Query.
 */
export class LandingRecords {
  constructor(
    private readonly table: DynamoTable,
    private readonly clock: Clock,
  ) {}

  /** Conditional put of the outcome record, with the TTL attribute: a replay keeps the first. */
  async recordRejected(rejection: LandingRejection): Promise<boolean> {
    const { landedEventId, tenant, dataset, businessDate, rejectedAt } = rejection;
    const { reasons, omitted } = fitReasons(rejection.reasons);
    const at = new Date(rejectedAt);
    const outcome: LandingOutcome = {
      landedEventId,
      ...(tenant === undefined ? {} : { tenant }),
      status: 'REJECTED',
      reasons,
      ...(omitted > 0 ? { omittedReasons: omitted } : {}),
      ...(dataset === undefined ? {} : { dataset }),
      ...(businessDate === undefined ? {} : { businessDate }),
      at: rejectedAt,
    };
    // A time that does not parse still gets a retention, from the record's writing.
    const expiresAt = expiresAtEpochSeconds(Number.isNaN(at.getTime()) ? this.clock.now() : at, LANDING_REJECTION_RETENTION_SECONDS);
    return this.table.putIfAbsent({ ...outcome, ...landingOutcomeKey(landedEventId), _entity: 'landingOutcome', [TTL_ATTRIBUTE]: expiresAt }, 'recordLandingRejected');
  }

  /** Conditional put of the outcome record, kept for good (like the version it names). */
  async recordAccepted(acceptance: LandingAcceptance): Promise<boolean> {
    const { landedEventId, tenant, datasetId, at } = acceptance;
    const outcome: LandingOutcome = { landedEventId, ...(tenant === undefined ? {} : { tenant }), status: 'ACCEPTED', datasetId, at, alreadyRegistered: true };
    return this.table.putIfAbsent({ ...outcome, ...landingOutcomeKey(landedEventId), _entity: 'landingOutcome' }, 'recordLandingAccepted');
  }

  /**
   * One Query of the landed event's partition. A claim whose version item is this landing's answers
   * ACCEPTED with that version; a claim without it (a registration under way, or crashed before its
   * version) answers nothing; otherwise the outcome record, if any.
   */
  async get(landedEventId: string): Promise<LandingOutcome | undefined> {
    const op = 'getLanding';
    const items = await this.table.queryAll(landedEventPartition(landedEventId), {}, op);
    const claim = items.find((item) => item.SK === 'LANDED');
    if (claim) {
      const item = await this.table.get(datasetVersionKey(String(claim.dataset), String(claim.businessDate), Number(claim.version)), op);
      const version = item && stripInternal<DatasetVersion>(item);
      if (version && version.landedEventId === landedEventId) {
        return { landedEventId, ...(version.tenant === undefined ? {} : { tenant: version.tenant }), status: 'ACCEPTED', datasetId: version.datasetId, at: version.registeredAt };
      }
    }
    const outcome = items.find((item) => item.SK === 'OUTCOME');
    if (!outcome) return undefined;
    const { [TTL_ATTRIBUTE]: _expiresAt, ...recorded } = stripInternal<LandingOutcome & { [TTL_ATTRIBUTE]?: number }>(outcome);
    return recorded;
  }
}

type Reasons = LandingRejection['reasons'];

/** The first reasons whose JSON fits MAX_STORED_REASON_BYTES (at least one), and how many were left out. */
function fitReasons(all: Reasons): { reasons: Reasons; omitted: number } {
  let bytes = 0;
  let kept = 0;
  for (const reason of all) {
    bytes += Buffer.byteLength(JSON.stringify(reason), 'utf8') + 1;
    if (bytes > MAX_STORED_REASON_BYTES && kept > 0) break;
    kept++;
  }
  return { reasons: all.slice(0, kept), omitted: all.length - kept };
}
