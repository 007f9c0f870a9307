import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsErrorMessage, classifyAwsError } from '@nightshift/aws-wire';
import {
  DeliveryNotFoundError,
  DeliveryStateError,
  DeliveryStoreUnavailableError,
  type Delivery,
  type DeliveryPage,
  type DeliverySettlement,
  type DeliveryStatus,
  type DeliveryStore,
  type NewDelivery,
} from '@nightshift/notifications-domain';

/** How a {@link DynamoDbDeliveryStore} is wired. */
export interface DynamoDbDeliveryStoreConfig {
  /** The job store's table (`PK`/`SK` strings, TTL on `expiresAt`): deliveries live beside the runs. */
  tableName: string;
  /** How long a DELIVERED or DEAD delivery is kept. Default 30 days. */
  retentionDays?: number;
}

/*
 * Keys, in the job store's single table (its README has the other items):
 *
 * | Item              | PK                        | SK                              |
 * | Delivery          | NOTIFICATION#<deliveryId> | DELIVERY                        |
 * | Listing pointer   | NOTIFICATIONS             | <createdAt>#<deliveryId>        |
 * | Due pointer       | NOTIFICATIONS_DUE         | <nextAttemptAt>#<deliveryId>    |
 *
 * The record is the truth; pointers are indexes. A due pointer is written before the record moves
 * to its time and deleted after the record has moved on, so a crash leaves an extra pointer (skipped
 * while the record is PENDING at another time, deleted once it is finished or gone), never a PENDING
 * record without one. ISO-8601 UTC times sort lexically, so SK order is time order.
 */
const LISTING = 'NOTIFICATIONS';
const DUE = 'NOTIFICATIONS_DUE';
const SK = 'DELIVERY';
/** The table's TTL attribute (jobs-dynamodb's TTL_ATTRIBUTE): DynamoDB's TTL, or the embedded sweeper, deletes the item after it. */
const EXPIRES_AT = 'expiresAt';
const recordKey = (deliveryId: string) => ({ PK: `NOTIFICATION#${deliveryId}`, SK });
const dueKey = (at: string, deliveryId: string) => ({ PK: DUE, SK: `${at}#${deliveryId}` });
const listingKey = (createdAt: string, deliveryId: string) => ({ PK: LISTING, SK: `${createdAt}#${deliveryId}` });
/** Pointers read per listing call at most, before answering a short page with a cursor. */
const LIST_SCAN_BUDGET = 1_000;

type Item = Record<string, unknown>;

/**
 * The {@link DeliveryStore} on DynamoDB (the embedded DynamoDB-compatible server locally): every
 * state change one conditional UpdateItem on the record's `version`, pointers for due deliveries and
 * for the listing. Finished deliveries expire after `retentionDays`.
 */
export class DynamoDbDeliveryStore implements DeliveryStore {
  private readonly tableName: string;
  private readonly retentionSeconds: number;

  /** @param client the process's one DocumentClient (with `removeUndefinedValues`); never destroyed here. */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    config: DynamoDbDeliveryStoreConfig,
  ) {
    this.tableName = config.tableName;
    this.retentionSeconds = Math.round((config.retentionDays ?? 30) * 86_400);
  }

  async create(delivery: NewDelivery): Promise<{ created: boolean; delivery: Delivery }> {
    const record: Delivery = {
      ...delivery,
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: delivery.createdAt,
      updatedAt: delivery.createdAt,
      redeliveries: 0,
      version: 1,
    };
    const put = await this.conditional(
      () => this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...recordKey(delivery.deliveryId), ...record }, ConditionExpression: 'attribute_not_exists(PK)' })),
      'create',
    );
    const stored = put ? record : await this.get(delivery.deliveryId);
    if (!stored) throw new DeliveryStoreUnavailableError(`delivery ${delivery.deliveryId} exists and vanished while being read`);
    // Also on a repeat: the first call may have died between the record and its pointers.
    await this.putListingPointer(stored);
    if (stored.status === 'PENDING') await this.putDuePointer(stored.nextAttemptAt, stored.deliveryId);
    return { created: put, delivery: stored };
  }

  async get(deliveryId: string): Promise<Delivery | undefined> {
    const out = await this.send(() => this.client.send(new GetCommand({ TableName: this.tableName, Key: recordKey(deliveryId), ConsistentRead: true })), 'get');
    return out.Item ? toDelivery(out.Item) : undefined;
  }

  async due(now: Date, limit: number): Promise<Delivery[]> {
    const found = new Map<string, Delivery>();
    let startKey: Item | undefined;
    do {
      const page = await this.send(
        () =>
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: 'PK = :pk AND SK <= :until',
              ExpressionAttributeValues: { ':pk': DUE, ':until': `${now.toISOString()}#~` },
              ConsistentRead: true,
              Limit: 100,
              ...(startKey ? { ExclusiveStartKey: startKey } : {}),
            }),
          ),
        'due',
      );
      for (const pointer of page.Items ?? []) {
        const sk = String(pointer['SK']);
        const at = sk.slice(0, sk.indexOf('#'));
        const deliveryId = sk.slice(sk.indexOf('#') + 1);
        if (found.has(deliveryId)) continue;
        const record = await this.get(deliveryId);
        if (!record || record.status !== 'PENDING') {
          await this.deletePointer(dueKey(at, deliveryId));
        } else if (record.nextAttemptAt === at) {
          found.set(deliveryId, record);
          if (found.size >= limit) return [...found.values()];
        }
        // PENDING at another time: a pointer a crash (or a lost race) left; the record's own pointer is elsewhere.
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return [...found.values()];
  }

  async claim(delivery: Delivery, leaseUntil: Date, now: Date): Promise<Delivery | undefined> {
    const lease = leaseUntil.toISOString();
    await this.putDuePointer(lease, delivery.deliveryId);
    const updated = await this.update(
      delivery.deliveryId,
      {
        UpdateExpression: 'SET attempts = attempts + :one, nextAttemptAt = :lease, updatedAt = :now, version = version + :one',
        ConditionExpression: 'version = :v AND #status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':one': 1, ':lease': lease, ':now': now.toISOString(), ':v': delivery.version, ':pending': 'PENDING' },
      },
      'claim',
    );
    if (!updated) {
      await this.deletePointer(dueKey(lease, delivery.deliveryId));
      return undefined;
    }
    await this.deletePointer(dueKey(delivery.nextAttemptAt, delivery.deliveryId));
    return updated;
  }

  async settle(claimed: Delivery, outcome: DeliverySettlement, now: Date): Promise<boolean> {
    const at = now.toISOString();
    const values: Item = { ':v': claimed.version, ':one': 1, ':now': at, ':status': outcome.status };
    const set = ['#status = :status', 'updatedAt = :now', 'version = version + :one'];
    const remove: string[] = [];
    if (outcome.lastStatus !== undefined) {
      set.push('lastStatus = :lastStatus');
      values[':lastStatus'] = outcome.lastStatus;
    } else {
      remove.push('lastStatus');
    }
    if (outcome.status === 'DELIVERED') {
      set.push('deliveredAt = :now', `${EXPIRES_AT} = :expires`);
      remove.push('lastError');
      values[':expires'] = this.expiry(now);
    } else {
      set.push('lastError = :lastError');
      values[':lastError'] = outcome.lastError;
      if (outcome.status === 'DEAD') {
        set.push('deadAt = :now', `${EXPIRES_AT} = :expires`);
        values[':expires'] = this.expiry(now);
      } else {
        set.push('nextAttemptAt = :next');
        values[':next'] = outcome.nextAttemptAt.toISOString();
        await this.putDuePointer(outcome.nextAttemptAt.toISOString(), claimed.deliveryId);
      }
    }
    const updated = await this.update(
      claimed.deliveryId,
      {
        UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ConditionExpression: 'version = :v',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: values,
      },
      'settle',
    );
    if (!updated) return false;
    await this.deletePointer(dueKey(claimed.nextAttemptAt, claimed.deliveryId));
    if (outcome.status !== 'PENDING') await this.putListingPointer(updated);
    return true;
  }

  async redeliver(deliveryId: string, now: Date): Promise<Delivery> {
    const current = await this.get(deliveryId);
    if (!current) throw new DeliveryNotFoundError(deliveryId);
    if (current.status !== 'DEAD') throw new DeliveryStateError(deliveryId, current.status, `delivery ${deliveryId} is ${current.status}: only a DEAD delivery can be redelivered`);
    const at = now.toISOString();
    await this.putDuePointer(at, deliveryId);
    const updated = await this.update(
      deliveryId,
      {
        UpdateExpression: `SET #status = :pending, attempts = :zero, nextAttemptAt = :now, updatedAt = :now, redeliveries = redeliveries + :one, version = version + :one REMOVE deadAt, ${EXPIRES_AT}`,
        ConditionExpression: 'version = :v AND #status = :dead',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'PENDING', ':dead': 'DEAD', ':zero': 0, ':one': 1, ':now': at, ':v': current.version },
      },
      'redeliver',
    );
    if (!updated) {
      await this.deletePointer(dueKey(at, deliveryId));
      const now2 = await this.get(deliveryId);
      throw new DeliveryStateError(deliveryId, now2?.status ?? 'unknown', `delivery ${deliveryId} changed while being put back; look again`);
    }
    await this.putListingPointer(updated);
    return updated;
  }

  async list(query: { status?: DeliveryStatus; tenant?: string; limit: number; cursor?: string }): Promise<DeliveryPage> {
    const items: Delivery[] = [];
    let startKey: Item | undefined = query.cursor ? { PK: LISTING, SK: decodeCursor(query.cursor) } : undefined;
    let read = 0;
    while (items.length < query.limit && read < LIST_SCAN_BUDGET) {
      const page = await this.send(
        () =>
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: 'PK = :pk',
              ExpressionAttributeValues: { ':pk': LISTING, ...(query.tenant !== undefined ? { ':tenant': query.tenant } : {}) },
              ...(query.tenant !== undefined ? { FilterExpression: 'tenant = :tenant' } : {}),
              ScanIndexForward: false,
              ConsistentRead: true,
              Limit: Math.min(100, query.limit - items.length + 10),
              ...(startKey ? { ExclusiveStartKey: startKey } : {}),
            }),
          ),
        'list',
      );
      read += page.ScannedCount ?? 0;
      const pointers = page.Items ?? [];
      const records = await Promise.all(pointers.map((p) => this.get(String(p['deliveryId']))));
      let last: Item | undefined;
      for (let i = 0; i < pointers.length; i++) {
        const record = records[i];
        last = { PK: LISTING, SK: pointers[i]!['SK'] };
        if (record && (query.status === undefined || record.status === query.status)) items.push(record);
        if (items.length >= query.limit) {
          // Stop here: the cursor continues after this pointer, even mid-page.
          return { items, ...(i < pointers.length - 1 || page.LastEvaluatedKey ? { nextCursor: encodeCursor(String(last['SK'])) } : {}) };
        }
      }
      startKey = page.LastEvaluatedKey ?? undefined;
      if (!startKey) return { items };
    }
    return { items, ...(startKey ? { nextCursor: encodeCursor(String(startKey['SK'])) } : {}) };
  }

  private expiry(now: Date): number {
    return Math.floor(now.getTime() / 1000) + this.retentionSeconds;
  }

  private async putDuePointer(at: string, deliveryId: string): Promise<void> {
    await this.send(() => this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...dueKey(at, deliveryId), deliveryId } })), 'putDuePointer');
  }

  /** The listing pointer, expiring with its record once that is finished. */
  private async putListingPointer(d: Delivery & { expiresAt?: number }): Promise<void> {
    const expires = d.expiresAt;
    await this.send(
      () =>
        this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...listingKey(d.createdAt, d.deliveryId), deliveryId: d.deliveryId, ...(d.tenant !== undefined ? { tenant: d.tenant } : {}), ...(typeof expires === 'number' ? { [EXPIRES_AT]: expires } : {}) },
          }),
        ),
      'putListingPointer',
    );
  }

  private async deletePointer(key: { PK: string; SK: string }): Promise<void> {
    await this.send(() => this.client.send(new DeleteCommand({ TableName: this.tableName, Key: key })), 'deletePointer');
  }

  /** An UpdateItem returning the new record; undefined when its condition failed. */
  private async update(
    deliveryId: string,
    input: { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Item },
    op: string,
  ): Promise<(Delivery & { expiresAt?: number }) | undefined> {
    let attributes: Item | undefined;
    const applied = await this.conditional(async () => {
      const out = await this.client.send(new UpdateCommand({ TableName: this.tableName, Key: recordKey(deliveryId), ReturnValues: 'ALL_NEW', ...input }));
      attributes = out.Attributes;
    }, op);
    if (!applied || !attributes) return undefined;
    const expires = attributes[EXPIRES_AT];
    return { ...toDelivery(attributes), ...(typeof expires === 'number' ? { expiresAt: expires } : {}) };
  }

  /** Runs a conditional write: true if applied, false if its condition failed. */
  private async conditional(call: () => Promise<unknown>, op: string): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException') return false;
      throw translate(error, op);
    }
  }

  private async send<T>(call: () => Promise<T>, op: string): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw translate(error, op);
    }
  }
}

/** Transient SDK faults become the port's retryable error; anything else is rethrown unchanged. */
function translate(error: unknown, op: string): unknown {
  if (classifyAwsError(error) === 'transient') {
    return new DeliveryStoreUnavailableError(`notification delivery store unavailable during ${op} (${awsErrorMessage(error)})`, { cause: error });
  }
  return error;
}

/** The record without its keys and the store's own attributes. */
function toDelivery(item: Item): Delivery {
  const { PK: _pk, SK: _sk, [EXPIRES_AT]: _expires, ...rest } = item;
  return rest as unknown as Delivery;
}

function encodeCursor(sk: string): string {
  return Buffer.from(sk, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('utf8');
}
