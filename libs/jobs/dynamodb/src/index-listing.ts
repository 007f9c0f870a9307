import type { Page } from '@nightshift/jobs-domain';
import type { DynamoTable, Item, ItemFilter } from './dynamo-table.js';
import { decodeToken, encodeToken, type PageCursor } from './page-token.js';

/*
 * Listings read from an index partition of pointers, newest first, narrowed twice on the way: by a
 * FilterExpression over what the pointers carry (DynamoDB drops the pointers that do not match
 * before sending them), then by a check of each item the pointers lead to (what changes, such as a
 * run's status, is only on the item). DynamoDB's Limit counts pointers read, not pointers that
 * matched, so a page of a selective listing reads on until it has its items or has read its budget
 * of pointers; then it holds fewer items than asked for, even none, and still carries a token, as
 * DynamoDB's own filtered Query does.
 */

/** A page reads at most max(POINTERS_PER_ITEM * limit, MIN_POINTERS_PER_PAGE) pointers. */
export const POINTERS_PER_ITEM = 4;
export const MIN_POINTERS_PER_PAGE = 200;

export interface IndexListing<T> {
  /** The listing's name, in errors and refused tokens. */
  op: string;
  /** The index partition, read newest (highest sort key) first. */
  pk: string;
  limit: number;
  nextToken?: string;
  /** What the listing keeps to when `pk` does not say it (see `PageCursor.scope`). */
  scope?: string;
  /** Over the pointers' own attributes; a pointer that fails it is never resolved. */
  filter?: ItemFilter;
  /** The item of each pointer, in their order; undefined where it is missing or does not match. */
  resolve(pointers: Item[]): Promise<Array<T | undefined>>;
}

/**
 * One page: reads pointers after the token's, asking each Query for as many as the page still
 * needs at the rate pointers have turned into items so far, until it has `limit` items and one more
 * (which says a next page exists, so the last page has no token) or the pointer budget is spent.
 */
export async function listIndex<T>(table: DynamoTable, listing: IndexListing<T>): Promise<Page<T>> {
  const { op, pk, limit, scope, filter } = listing;
  const cursor = listing.nextToken === undefined ? undefined : decodeToken(listing.nextToken, op, pk, { scope });
  const budget = Math.max(POINTERS_PER_ITEM * limit, MIN_POINTERS_PER_PAGE);
  const found: Array<{ key: PageCursor; item: T }> = [];
  let startKey: Item | undefined = cursor && { PK: cursor.PK, SK: cursor.SK };
  let read = 0;
  do {
    const perItem = read === 0 ? 1 : read / Math.max(found.length, 1);
    const ask = Math.max(1, Math.min(budget - read, Math.ceil((limit + 1 - found.length) * perItem)));
    const page = await table.queryPage(pk, { newestFirst: true, limit: ask, startKey, ...(filter ? { filter } : {}) }, op);
    // At least one, so that a page DynamoDB ends without reading anything still counts.
    read += Math.max(page.scanned, 1);
    const items = await listing.resolve(page.items);
    page.items.forEach((pointer, i) => {
      const item = items[i];
      if (item !== undefined) found.push({ key: { PK: String(pointer.PK), SK: String(pointer.SK) }, item });
    });
    startKey = page.lastKey;
  } while (found.length <= limit && startKey !== undefined && read < budget);

  const scoped = scope === undefined ? {} : { scope };
  if (found.length > limit) {
    return { items: found.slice(0, limit).map((f) => f.item), nextToken: encodeToken({ ...found[limit - 1].key, ...scoped }) };
  }
  const items = found.map((f) => f.item);
  return startKey === undefined ? { items } : { items, nextToken: encodeToken({ PK: String(startKey.PK), SK: String(startKey.SK), ...scoped }) };
}

/**
 * Builds a FilterExpression: AND of the terms added, each over escaped names (`#f<n>`) and values
 * (`:f<n>`), so callers never deal with reserved words or placeholder numbering.
 */
export class FilterBuilder {
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, unknown> = {};
  private readonly terms: string[] = [];
  private readonly nameOf = new Map<string, string>();
  private valueCount = 0;

  name(attribute: string): string {
    let placeholder = this.nameOf.get(attribute);
    if (placeholder === undefined) {
      placeholder = `#f${this.nameOf.size}`;
      this.nameOf.set(attribute, placeholder);
      this.names[placeholder] = attribute;
    }
    return placeholder;
  }

  value(v: unknown): string {
    const placeholder = `:f${this.valueCount++}`;
    this.values[placeholder] = v;
    return placeholder;
  }

  /** `attribute = value` */
  equals(attribute: string, value: unknown): this {
    this.terms.push(`${this.name(attribute)} = ${this.value(value)}`);
    return this;
  }

  /** `attribute IN (values)`, for one value `=`. */
  oneOf(attribute: string, values: readonly unknown[]): this {
    if (values.length === 1) return this.equals(attribute, values[0]);
    this.terms.push(`${this.name(attribute)} IN (${values.map((v) => this.value(v)).join(', ')})`);
    return this;
  }

  /** `attribute >= value`, on strings: lexical order. */
  atLeast(attribute: string, value: string): this {
    this.terms.push(`${this.name(attribute)} >= ${this.value(value)}`);
    return this;
  }

  /** `attribute <= value`, on strings: lexical order. */
  atMost(attribute: string, value: string): this {
    this.terms.push(`${this.name(attribute)} <= ${this.value(value)}`);
    return this;
  }

  /**
   * The AND of the terms; undefined when there are none. With `unlessLacking`, items without that
   * attribute pass too (items written before it existed, which the caller checks otherwise).
   */
  build(unlessLacking?: string): ItemFilter | undefined {
    if (this.terms.length === 0) return undefined;
    const all = this.terms.join(' AND ');
    const expression = unlessLacking === undefined ? all : `attribute_not_exists(${this.name(unlessLacking)}) OR (${all})`;
    return { expression, names: { ...this.names }, values: { ...this.values } };
  }
}
