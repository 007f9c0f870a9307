import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { NotFoundError, StaleStateError, StoreUnavailableError } from '@nightshift/jobs-domain';
import type { ItemKey } from './keys.js';
import { isConditionalCheckFailed, translateSdkError } from './sdk-errors.js';

/*
 * The single-item operations every part of the store is built from, with SDK failures translated
 * once here: throttling and network faults become StoreUnavailableError, a failed condition is
 * reported to the caller (false / undefined) or turned into a domain error, anything else is
 * rethrown unchanged. Reads are always consistent.
 */

export type Item = Record<string, unknown>;

/** BatchGetItem takes at most 100 keys per request. */
const BATCH_GET_MAX_KEYS = 100;
/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_MAX_ITEMS = 25;
/** Rounds of re-requesting UnprocessedKeys / UnprocessedItems (throttling) before reporting the store unavailable. */
const BATCH_GET_MAX_ROUNDS = 8;

/** An UpdateItem without the table name, which the table adds. */
export type Update = Omit<UpdateCommandInput, 'TableName'>;

export type UpdateOutcome = { applied: true; attributes: Item } | { applied: false; cause: unknown };

/** One page of a Query. */
export interface QueryPage {
  items: Item[];
  lastKey?: Item;
  /** Items the Query read before its filter (DynamoDB's ScannedCount); `items.length` without a filter. */
  scanned: number;
}

/**
 * A FilterExpression over its own placeholders: names `#f...` and values `:f...` (the key condition
 * uses `:pk` / `:prefix` and projections `#a...`, so they never clash).
 */
export interface ItemFilter {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

export class DynamoTable {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Runs one SDK call, translating its failures. */
  async send<T>(call: () => Promise<T>, op: string): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw translateSdkError(error, op);
    }
  }

  /** An UpdateItem; a failed condition is an outcome (with the SDK error, to keep as a `cause`), not an exception. */
  async update(input: Update, op: string): Promise<UpdateOutcome> {
    try {
      const out = await this.client.send(new UpdateCommand({ ...input, TableName: this.tableName }));
      return { applied: true, attributes: out.Attributes ?? {} };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return { applied: false, cause: error };
      throw translateSdkError(error, op);
    }
  }

  /** Puts an item unless one with its key exists; false when it existed (nothing written). */
  async putIfAbsent(item: Item, op: string): Promise<boolean> {
    try {
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw translateSdkError(error, op);
    }
  }

  async delete(key: ItemKey, op: string): Promise<void> {
    await this.send(() => this.client.send(new DeleteCommand({ TableName: this.tableName, Key: key })), op);
  }

  /** Puts an item if `condition` holds for what is stored (an absent item has no attributes); false when it did not (nothing written). */
  async putIf(item: Item, condition: ItemFilter, op: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: condition.expression, ...placeholders(condition) }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw translateSdkError(error, op);
    }
  }

  /** Deletes an item if `condition` holds for it; false when it did not (nothing deleted). Deleting an absent item is true. */
  async deleteIf(key: ItemKey, condition: ItemFilter, op: string): Promise<boolean> {
    try {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: key, ConditionExpression: condition.expression, ...placeholders(condition) }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw translateSdkError(error, op);
    }
  }

  /** Consistent point read; `attributes` limits what is read (names are escaped here). */
  async get(key: ItemKey, op: string, attributes?: readonly string[]): Promise<Item | undefined> {
    const projection = attributes === undefined ? {} : projectionOf(attributes);
    const out = await this.send(() => this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true, ...projection })), op);
    return out.Item;
  }

  /**
   * One consistent Query page over a partition, optionally restricted to a sort-key prefix.
   * `limit` items read at most; `lastKey` is set when DynamoDB stopped early (the limit, or its 1 MB
   * page). With `filter`, only the items read that match it come back (DynamoDB applies the filter
   * after the limit, so a page may hold fewer items than `limit`, even none, while `lastKey` is set).
   */
  async queryPage(
    pk: string,
    options: { prefix?: string; newestFirst?: boolean; limit?: number; startKey?: Item; attributes?: readonly string[]; filter?: ItemFilter },
    op: string,
  ): Promise<QueryPage> {
    const { prefix, newestFirst = false, limit, startKey, attributes, filter } = options;
    const projection = attributes === undefined ? undefined : projectionOf(attributes);
    const names = { ...projection?.ExpressionAttributeNames, ...filter?.names };
    const out = await this.send(
      () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: prefix === undefined ? 'PK = :pk' : 'PK = :pk AND begins_with(SK, :prefix)',
            ExpressionAttributeValues: { ':pk': pk, ...(prefix === undefined ? {} : { ':prefix': prefix }), ...filter?.values },
            ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
            ...(projection ? { ProjectionExpression: projection.ProjectionExpression } : {}),
            ...(filter ? { FilterExpression: filter.expression } : {}),
            ConsistentRead: true,
            ScanIndexForward: !newestFirst,
            Limit: limit,
            ExclusiveStartKey: startKey,
          }),
        ),
      op,
    );
    const items = out.Items ?? [];
    return { items, lastKey: out.LastEvaluatedKey, scanned: out.ScannedCount ?? items.length };
  }

  /** Every item of a partition (or prefix), following DynamoDB's pages; `limit` stops early. */
  async queryAll(pk: string, options: { prefix?: string; newestFirst?: boolean; limit?: number; attributes?: readonly string[] }, op: string): Promise<Item[]> {
    const { limit } = options;
    if (limit !== undefined && limit < 1) return [];
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.queryPage(pk, { ...options, limit: limit === undefined ? undefined : Math.ceil(limit) - items.length, startKey }, op);
      items.push(...page.items);
      startKey = page.lastKey;
    } while (startKey !== undefined && (limit === undefined || items.length < limit));
    return items;
  }

  /** Consistent BatchGet of any number of keys; order of the result is not the order of `keys`. */
  async batchGet(keys: ItemKey[], op: string): Promise<Item[]> {
    const found: Item[] = [];
    for (let offset = 0; offset < keys.length; offset += BATCH_GET_MAX_KEYS) {
      let pending: Item[] = keys.slice(offset, offset + BATCH_GET_MAX_KEYS);
      for (let round = 0; pending.length > 0; round++) {
        if (round === BATCH_GET_MAX_ROUNDS) throw new StoreUnavailableError(`${pending.length} item(s) stayed unprocessed during ${op}`);
        if (round > 0) await sleep(25 * 2 ** round);
        const out = await this.send(
          () => this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } })),
          op,
        );
        found.push(...(out.Responses?.[this.tableName] ?? []));
        pending = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
  }

  /**
   * One Scan page of the whole table: the items matching `filter` (an expression over `names` and
   * `values`) among at most `limit` read. Eventually consistent, which is all a sweep over expired
   * records needs. `lastKey` is set while the table goes on.
   */
  async scanPage(
    options: { filter: string; names: Record<string, string>; values: Record<string, unknown>; attributes?: readonly string[]; limit?: number; startKey?: Item },
    op: string,
  ): Promise<QueryPage> {
    const { filter, names, values, attributes, limit, startKey } = options;
    const projection = attributes === undefined ? undefined : projectionOf(attributes);
    const out = await this.send(
      () =>
        this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: filter,
            ExpressionAttributeNames: { ...names, ...projection?.ExpressionAttributeNames },
            ExpressionAttributeValues: values,
            ...(projection ? { ProjectionExpression: projection.ProjectionExpression } : {}),
            Limit: limit,
            ExclusiveStartKey: startKey,
          }),
        ),
      op,
    );
    const items = out.Items ?? [];
    return { items, lastKey: out.LastEvaluatedKey, scanned: out.ScannedCount ?? items.length };
  }

  /** Deletes the items of `keys` with BatchWriteItem, 25 a request, re-sending what DynamoDB left unprocessed. Unconditional. */
  async batchDelete(keys: readonly ItemKey[], op: string): Promise<void> {
    for (let offset = 0; offset < keys.length; offset += BATCH_WRITE_MAX_ITEMS) {
      type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];
      let pending: WriteRequest[] = keys.slice(offset, offset + BATCH_WRITE_MAX_ITEMS).map((key) => ({ DeleteRequest: { Key: { PK: key.PK, SK: key.SK } } }));
      for (let round = 0; pending.length > 0; round++) {
        if (round === BATCH_GET_MAX_ROUNDS) throw new StoreUnavailableError(`${pending.length} delete(s) stayed unprocessed during ${op}`);
        if (round > 0) await sleep(25 * 2 ** round);
        const requests = pending;
        const out = await this.send(() => this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } })), op);
        pending = out.UnprocessedItems?.[this.tableName] ?? [];
      }
    }
  }

  /**
   * DynamoDB does not say which part of a condition failed (and dynalite ignores
   * ReturnValuesOnConditionCheckFailure), so one read tells "gone" from "moved on".
   */
  async conditionFailure(key: ItemKey, entity: string, label: string, expected: string, cause: unknown, op: string): Promise<Error> {
    const current = await this.get(key, op, ['PK']);
    return current ? new StaleStateError(entity, label, expected, { cause }) : new NotFoundError(entity, label);
  }
}

/** A condition's placeholders as a request takes them (DynamoDB refuses empty maps). */
function placeholders(condition: ItemFilter): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> } {
  return {
    ...(Object.keys(condition.names).length > 0 ? { ExpressionAttributeNames: condition.names } : {}),
    ...(Object.keys(condition.values).length > 0 ? { ExpressionAttributeValues: condition.values } : {}),
  };
}

/** A ProjectionExpression with every name escaped (`size`, `status` and many others are reserved words). */
function projectionOf(attributes: readonly string[]): { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> } {
  const names: Record<string, string> = {};
  attributes.forEach((name, i) => (names[`#a${i}`] = name));
  return { ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names };
}

/**
 * Builds an update expression: each `set`/`add`/`remove` call escapes its attribute path, so
 * callers never deal with reserved words or placeholder numbering.
 */
export class UpdateBuilder {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly sets: string[] = [];
  private readonly adds: string[] = [];
  private readonly removes: string[] = [];
  private nameCount = 0;
  private valueCount = 0;
  private readonly nameOf = new Map<string, string>();

  /** The placeholder of an attribute name (one per distinct name). */
  name(attribute: string): string {
    let placeholder = this.nameOf.get(attribute);
    if (placeholder === undefined) {
      placeholder = `#n${this.nameCount++}`;
      this.nameOf.set(attribute, placeholder);
      this.names[placeholder] = attribute;
    }
    return placeholder;
  }

  /** The placeholder of a value (a new one per call). */
  value(v: unknown): string {
    const placeholder = `:v${this.valueCount++}`;
    this.values[placeholder] = v;
    return placeholder;
  }

  /** `path` is a list of attribute names (a nested map path when longer than one). */
  set(path: string | readonly string[], value: unknown): this {
    this.sets.push(`${this.path(path)} = ${this.value(value)}`);
    return this;
  }

  add(attribute: string, amount: number): this {
    this.adds.push(`${this.name(attribute)} ${this.value(amount)}`);
    return this;
  }

  remove(path: string | readonly string[]): this {
    this.removes.push(this.path(path));
    return this;
  }

  get empty(): boolean {
    return this.sets.length + this.adds.length + this.removes.length === 0;
  }

  expression(): string {
    return [
      this.sets.length > 0 ? `SET ${this.sets.join(', ')}` : '',
      this.adds.length > 0 ? `ADD ${this.adds.join(', ')}` : '',
      this.removes.length > 0 ? `REMOVE ${this.removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  }

  /** The UpdateItem input for `key`, with `condition` written in this builder's placeholders. */
  build(key: ItemKey, condition: string | undefined, returnValues: Update['ReturnValues']): Update {
    return {
      Key: key,
      UpdateExpression: this.expression(),
      ...(condition === undefined ? {} : { ConditionExpression: condition }),
      ExpressionAttributeNames: this.names,
      ...(Object.keys(this.values).length > 0 ? { ExpressionAttributeValues: this.values } : {}),
      ReturnValues: returnValues,
    };
  }

  private path(path: string | readonly string[]): string {
    return (typeof path === 'string' ? [path] : path).map((p) => this.name(p)).join('.');
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; stops starting new ones after a failure. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
