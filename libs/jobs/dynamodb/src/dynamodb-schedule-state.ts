import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  expiresAtEpochSeconds,
  SCHEDULE_FIRE_RETENTION_SECONDS,
  type ScheduleCursor,
  type ScheduleFireRecord,
  type ScheduleState,
} from '@nightshift/jobs-domain';
import { DynamoTable, UpdateBuilder } from './dynamo-table.js';
import { InvalidJobStoreInputError } from './errors.js';
import { SCHEDULE_FIRE_PREFIX, schedulePartition, scheduleCursorKey, scheduleFireKey, stripInternal, TTL_ATTRIBUTE } from './keys.js';

/** How a DynamoDbScheduleState is wired. */
export interface DynamoDbScheduleStateConfig {
  /** The job store's table (`createTable`): schedules live in their own `SCHEDULE#` partitions, which no job-store query reads. */
  tableName: string;
}

/** The most fire records one `listFires` returns. */
const MAX_FIRES_PER_LIST = 100;

/**
 * The ScheduleState port on the job store's table. Per schedule one partition
 * (`SCHEDULE#<pipeline>#<schedule>`): the cursor at `CURSOR`, moved by UpdateItem conditioned on its
 * `version`; each fire at `FIRE#<scheduledTime>`, put if absent with the TTL attribute 90 days on.
 * Single-item conditional writes only: the embedded server has no transactions, and none is needed.
 */
export class DynamoDbScheduleState implements ScheduleState {
  private readonly table: DynamoTable;

  /** @param client the process's one DocumentClient; never destroyed here. */
  constructor(client: DynamoDBDocumentClient, config: DynamoDbScheduleStateConfig) {
    this.table = new DynamoTable(client, config.tableName);
  }

  async getCursor(pipeline: string, schedule: string): Promise<ScheduleCursor | undefined> {
    const item = await this.table.get(scheduleCursorKey(pipeline, schedule), 'getScheduleCursor');
    return item ? stripInternal<ScheduleCursor>(item) : undefined;
  }

  async createCursor(pipeline: string, schedule: string, createdAt: Date): Promise<ScheduleCursor | undefined> {
    const cursor: ScheduleCursor = { pipeline, schedule, createdAt: createdAt.toISOString(), version: 1 };
    const written = await this.table.putIfAbsent({ ...cursor, ...scheduleCursorKey(pipeline, schedule), _entity: 'scheduleCursor' }, 'createScheduleCursor');
    return written ? cursor : undefined;
  }

  async moveCursor(cursor: ScheduleCursor, next: { lastFireTime?: string; pending?: readonly string[]; claimedAt?: string }): Promise<ScheduleCursor | undefined> {
    const update = new UpdateBuilder().set('version', cursor.version + 1);
    const field = (name: 'lastFireTime' | 'claimedAt', value: string | undefined) => (value === undefined ? update.remove(name) : update.set(name, value));
    field('lastFireTime', next.lastFireTime);
    field('claimedAt', next.pending && next.pending.length > 0 ? next.claimedAt : undefined);
    if (next.pending && next.pending.length > 0) update.set('pending', [...next.pending]);
    else update.remove('pending');
    const condition = `attribute_exists(PK) AND ${update.name('version')} = ${update.value(cursor.version)}`;
    const outcome = await this.table.update(update.build(scheduleCursorKey(cursor.pipeline, cursor.schedule), condition, 'ALL_NEW'), 'moveScheduleCursor');
    return outcome.applied ? stripInternal<ScheduleCursor>(outcome.attributes) : undefined;
  }

  async recordFire(fire: ScheduleFireRecord): Promise<boolean> {
    const expiresAt = expiresAtEpochSeconds(new Date(fire.at), SCHEDULE_FIRE_RETENTION_SECONDS);
    const item = { ...fire, ...scheduleFireKey(fire.pipeline, fire.schedule, fire.scheduledTime), _entity: 'scheduleFire', [TTL_ATTRIBUTE]: expiresAt };
    return this.table.putIfAbsent(item, 'recordScheduleFire');
  }

  async listFires(pipeline: string, schedule: string, limit: number): Promise<ScheduleFireRecord[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_FIRES_PER_LIST) throw new InvalidJobStoreInputError(`listFires limit must be 1-${MAX_FIRES_PER_LIST}, got ${limit}`);
    const items = await this.table.queryAll(schedulePartition(pipeline, schedule), { prefix: SCHEDULE_FIRE_PREFIX, newestFirst: true, limit }, 'listScheduleFires');
    // The TTL attribute is the store's bookkeeping, not the record's.
    return items.map((item) => {
      const { [TTL_ATTRIBUTE]: _expiresAt, ...fire } = stripInternal<ScheduleFireRecord & { [TTL_ATTRIBUTE]?: number }>(item);
      return fire;
    });
  }
}
