import { jsonView } from './json-view.js';
import type { Leaf } from './value-matchers.js';

/**
 * Which array elements a value sits in: pairs of (array id, element index), outermost first.
 * Two values can be used together only where every array they share has them in the same element.
 */
export type Membership = readonly number[];

const NO_ARRAYS: Membership = [];

/** A leaf value of the event and the array elements it came from. */
export interface EventValue {
  readonly value: Leaf;
  readonly membership: Membership;
}

/**
 * The field names a pattern tests, arranged for the event walk: for every object path worth
 * entering, the keys to look up in it and the field name each key leads to. A key may itself contain
 * dots, because EventBridge joins keys with `.` before comparing (`{"a.b": 1}` and `{"a": {"b": 1}}`
 * are the same field `a.b`).
 */
export interface FieldIndex {
  /** Names that carry values to test. */
  readonly names: ReadonlySet<string>;
  /** Keys to look up in the event itself, each with the field name it leads to. */
  readonly root: readonly KeyLookup[];
  /** Keys to look up in the object found at a field name. */
  readonly nested: ReadonlyMap<string, readonly KeyLookup[]>;
}

/** An event key to look for and the field name it leads to. */
export type KeyLookup = readonly [key: string, name: string];

export function indexFieldNames(fieldNames: Iterable<string>): FieldIndex {
  const names = new Set(fieldNames);
  const wanted = new Set<string>(); // names and every proper dot-prefix of them
  for (const name of names) {
    wanted.add(name);
    for (let i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1)) wanted.add(name.slice(0, i));
  }
  const root: KeyLookup[] = [];
  const nested = new Map<string, KeyLookup[]>();
  for (const name of wanted) {
    root.push([name, name]);
    for (let i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1)) {
      const path = name.slice(0, i);
      let keys = nested.get(path);
      if (keys === undefined) nested.set(path, (keys = []));
      keys.push([name.slice(i + 1), name]);
    }
  }
  return { names, root, nested };
}

/**
 * Collects the values of the indexed fields from `event`, the way EventBridge flattens events: arrays
 * are transparent (each element is a value of the enclosing field), empty arrays and objects
 * contribute nothing, and only branches leading to an indexed name are visited.
 *
 * The event is read as its JSON serialisation would be: `toJSON()` is honoured, `undefined` members
 * are absent, non-finite numbers are `null`.
 */
export function collectFields(event: unknown, index: FieldIndex): Map<string, EventValue[]> {
  const found = new Map<string, EventValue[]>();
  let nextArrayId = 0;

  const enter = (object: object, keys: readonly KeyLookup[], membership: Membership): void => {
    for (let i = 0; i < keys.length; i++) {
      const [key, name] = keys[i];
      if (Object.hasOwn(object, key)) visit((object as Record<string, unknown>)[key], name, membership, false);
    }
  };

  const visit = (node: unknown, name: string, membership: Membership, inArray: boolean): void => {
    node = jsonView(node);
    if (node === undefined) {
      if (!inArray) return;
      node = null;
    }
    if (typeof node !== 'object' || node === null) {
      if (index.names.has(name)) {
        const values = found.get(name);
        const entry: EventValue = { value: node as Leaf, membership };
        if (values === undefined) found.set(name, [entry]);
        else values.push(entry);
      }
    } else if (Array.isArray(node)) {
      if (node.length === 0) return;
      const id = nextArrayId++;
      for (let i = 0; i < node.length; i++) visit(node[i], name, [...membership, id, i], true);
    } else {
      const keys = index.nested.get(name);
      if (keys !== undefined) enter(node, keys, membership);
    }
  };

  const root = jsonView(event);
  if (root !== null && typeof root === 'object' && !Array.isArray(root)) enter(root, index.root, NO_ARRAYS);
  return found;
}


/**
 * Combines two memberships, or returns `undefined` when they put the values in different elements of
 * the same array (such values never satisfy one rule together).
 */
export function combineMemberships(a: Membership, b: Membership): Membership | undefined {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  let extra: number[] | undefined;
  for (let j = 0; j < b.length; j += 2) {
    let shared = false;
    for (let i = 0; i < a.length; i += 2) {
      if (a[i] === b[j]) {
        if (a[i + 1] !== b[j + 1]) return undefined;
        shared = true;
        break;
      }
    }
    if (!shared) (extra ??= []).push(b[j], b[j + 1]);
  }
  return extra === undefined ? a : [...a, ...extra];
}
