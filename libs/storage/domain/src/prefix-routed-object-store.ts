import { InvalidObjectKeyError } from './errors.js';
import { compareObjectKeys, objectKeyProblem } from './keys.js';
import type { ObjectInfo, ObjectStore, ObjectSummary } from './ports/object-store.port.js';

/** Keys starting with `prefix` are kept in `store`. */
export interface ObjectStoreRoute {
  /** Whole key segments ending in `/` (`landing/`): a route never splits a segment. */
  prefix: string;
  store: ObjectStore;
}

/**
 * One ObjectStore over several: each key is kept in the store of the longest route prefix it
 * starts with, else in the fallback store. Keys are passed on unchanged (the store of `landing/`
 * holds `landing/...` keys), so a key names the same object whichever store holds it, and a bucket's
 * IAM policy can name the prefix it holds.
 *
 * `list(prefix)` asks only the stores that can hold keys under `prefix`: the store owning `prefix`
 * itself, plus the store of each route under it (listed by the route's own prefix: `list('')` lists
 * the `landing/` store under `landing/`). It answers only the keys each store is routed, merged in
 * `compareObjectKeys` order: a key a store holds outside its routes (written there by another tool)
 * is left out, as no other method would reach it. Errors are the stores' own, unchanged; keys are
 * checked here first, so a refused key reaches no store.
 */
export class PrefixRoutedObjectStore implements ObjectStore {
  /** Longest prefix first: the first route a key starts with is its route. */
  private readonly routes: readonly ObjectStoreRoute[];

  constructor(
    routes: readonly ObjectStoreRoute[],
    private readonly fallback: ObjectStore,
  ) {
    const seen = new Set<string>();
    for (const { prefix } of routes) {
      if (!prefix.endsWith('/') || objectKeyProblem(prefix.slice(0, -1))) {
        throw new RangeError(`route prefix ${JSON.stringify(prefix)} must be valid key segments ending in "/"`);
      }
      if (seen.has(prefix)) throw new RangeError(`route prefix ${JSON.stringify(prefix)} is given twice`);
      seen.add(prefix);
    }
    this.routes = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  async put(key: string, body: Uint8Array | string, contentType?: string): Promise<ObjectInfo> {
    return this.storeOf(key).put(key, body, contentType);
  }

  async putFile(key: string, localPath: string): Promise<ObjectInfo> {
    return this.storeOf(key).putFile(key, localPath);
  }

  async get(key: string): Promise<Uint8Array> {
    return this.storeOf(key).get(key);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return this.storeOf(key).head(key);
  }

  async delete(key: string): Promise<void> {
    return this.storeOf(key).delete(key);
  }

  async localFile(key: string, scratchDir: string): Promise<string> {
    return this.storeOf(key).localFile(key, scratchDir);
  }

  async list(prefix: string): Promise<ObjectSummary[]> {
    const owner = this.routeOf(prefix);
    // A route under `prefix` (`landing/` under `la` or ``) holds keys under it that `owner` does not.
    const listings = [
      { route: owner, prefix },
      ...this.routes.filter((r) => r !== owner && r.prefix.startsWith(prefix)).map((route) => ({ route, prefix: route.prefix })),
    ];
    const answers = await Promise.all(
      listings.map(async ({ route, prefix: under }) => {
        const listed = await (route?.store ?? this.fallback).list(under);
        return listed.filter((o) => this.routeOf(o.key) === route);
      }),
    );
    return answers.length === 1 ? answers[0]! : answers.flat().sort((a, b) => compareObjectKeys(a.key, b.key));
  }

  /** The route a key (or a listing prefix) belongs to; undefined for the fallback store. */
  private routeOf(key: string): ObjectStoreRoute | undefined {
    return this.routes.find((r) => key.startsWith(r.prefix));
  }

  /**
   * The store of a key, checked first so that a refused key reaches no store (as in every adapter).
   * Called from async methods only: a refusal is a rejected promise, never a synchronous throw.
   */
  private storeOf(key: string): ObjectStore {
    const problem = objectKeyProblem(key);
    if (problem) throw new InvalidObjectKeyError(key, problem);
    return this.routeOf(key)?.store ?? this.fallback;
  }
}
