import type { Type } from '@nestjs/common';
import { Extensions, Field, ObjectType } from '@nestjs/graphql';
import { ApiProblemError } from '../api/api-problem.js';
import type { ApiPage } from '../api/platform-api.js';
import { COST } from './limits.js';

/*
 * Relay connections over the API's cursor listings. A listing page ends with an opaque store cursor
 * (`nextCursor`), which names no item in the middle of a page; so an edge's cursor is "the page
 * that started at cursor c, after its first s items" ({c, s}, base64url JSON), and the last edge of
 * a page carries the page's own `nextCursor` (s = 0) so that following it reads nothing twice.
 * Forward only (`first`/`after`); like the REST listings, a page may hold fewer than `first` nodes
 * (the filters are applied while reading) and still have a next page.
 */

@ObjectType({ description: 'Where a page of a connection ends.' })
export class PageInfo {
  @Field({ description: 'Whether `after: endCursor` gives more (it may give an empty page that still has a next one).' })
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page; null when there is none.' })
  endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface ConnectionValue<T> {
  edges: Array<Edge<T>>;
  pageInfo: PageInfo;
}

/** A `<Name>Connection` type with `<Name>Edge` edges of `node`. */
export function Connection<T>(node: Type<T>, name: string): Type<ConnectionValue<T>> {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field({ description: 'Pass as `after` to read the nodes that follow this one.' })
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType({ isAbstract: true })
  abstract class ConnectionType {
    // The connection's field already counts `first` nodes: the edges list adds no factor of its own.
    @Field(() => [EdgeType])
    @Extensions({ [COST]: { listSize: 1 } })
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionType as Type<ConnectionValue<T>>;
}

interface CursorPosition {
  /** The store cursor the page started at (none: the listing's start). */
  c?: string;
  /** Items of that page already returned. */
  s: number;
}

const MAX_SKIP = 10_000;

function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, argument: string): CursorPosition {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { c?: unknown; s?: unknown };
    const { c, s } = parsed;
    if (typeof s === 'number' && Number.isInteger(s) && s >= 0 && s <= MAX_SKIP && (c === undefined || (typeof c === 'string' && c.length > 0 && c.length <= 4096))) {
      return c === undefined ? { s } : { c, s };
    }
  } catch {
    // refused below
  }
  throw new ApiProblemError(400, `${argument} ${JSON.stringify(cursor.slice(0, 80))} was not issued by this connection`, [{ path: argument, message: 'not a cursor of this connection' }]);
}

/** Checks `first` against its range (a 400 problem naming it otherwise). */
export function checkFirst(first: number, max: number, argument = 'first'): number {
  if (!Number.isInteger(first) || first < 1 || first > max) {
    throw new ApiProblemError(400, `${argument} must be an integer from 1 to ${max}, got ${first}`, [{ path: argument, message: `must be 1-${max}` }]);
  }
  return first;
}

/**
 * One connection page of a cursor listing: asks `list` for the page the `after` cursor points into,
 * with room for the items to skip (at most `maxLimit`, the listing's own page bound).
 */
export async function connectionOf<T>(
  list: (page: { cursor?: string; limit: number }) => Promise<ApiPage<T>> | ApiPage<T>,
  args: { first: number; after?: string | null | undefined },
  maxLimit: number,
): Promise<ConnectionValue<T>> {
  const first = checkFirst(args.first, maxLimit);
  const from: CursorPosition = args.after ? decodeCursor(args.after, 'after') : { s: 0 };
  const page = await list({ ...(from.c !== undefined ? { cursor: from.c } : {}), limit: Math.min(maxLimit, from.s + first) });
  const rest = page.items.slice(from.s);
  const taken = rest.slice(0, first);
  const edges = taken.map((node, i) => {
    const lastOfPage = i === rest.length - 1 && page.nextCursor !== undefined;
    return { node, cursor: encodeCursor(lastOfPage ? { c: page.nextCursor!, s: 0 } : { ...(from.c !== undefined ? { c: from.c } : {}), s: from.s + i + 1 }) };
  });
  const hasNextPage = rest.length > taken.length || page.nextCursor !== undefined;
  const endCursor = edges.at(-1)?.cursor ?? (page.nextCursor !== undefined ? encodeCursor({ c: page.nextCursor, s: 0 }) : null);
  return { edges, pageInfo: { hasNextPage, endCursor } };
}
