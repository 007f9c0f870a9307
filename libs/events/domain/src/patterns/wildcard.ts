/**
 * `wildcard` patterns: `*` matches any run of characters (including none), `\*` is a literal star,
 * `\\` a literal backslash; any other backslash escape and two stars in a row are rejected.
 */

/** Why a wildcard value was rejected; the text is AWS's. */
export class WildcardSyntaxError extends Error {}

const STAR = -1;

/** A parsed wildcard: the literal runs between the stars (`parts.length` = stars + 1). */
export interface Wildcard {
  readonly text: string;
  readonly parts: readonly string[];
}

/**
 * Parses a wildcard value. Error positions are byte offsets into the UTF-8 of the value wrapped in
 * JSON quotes, because that is what Ruler reports (`"**"` fails "at pos 1").
 */
export function parseWildcard(text: string): Wildcard {
  const parts: string[] = [];
  let literal = '';
  let pos = 1; // the opening quote
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '*') {
      if (text[i + 1] === '*') throw new WildcardSyntaxError(`Consecutive wildcard characters at pos ${pos}`);
      parts.push(literal);
      literal = '';
    } else if (ch === '\\') {
      const next = text[i + 1];
      if (next !== '*' && next !== '\\') throw new WildcardSyntaxError(`Invalid escape character at pos ${pos}`);
      literal += next;
      i++;
      pos++;
    } else {
      literal += ch;
    }
    pos += utf8Length(text, i);
  }
  parts.push(literal);
  return { text, parts };
}

/** UTF-8 length of the code unit at `i`; a surrogate pair counts 4 on its high half, 0 on its low. */
function utf8Length(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 4;
  }
  if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
    const h = text.charCodeAt(i - 1);
    if (h >= 0xd800 && h <= 0xdbff) return 0;
  }
  return 3;
}

/** Whether `value` matches the wildcard as a whole. */
export function wildcardMatches(wildcard: Wildcard, value: string): boolean {
  const { parts } = wildcard;
  const last = parts.length - 1;
  if (last === 0) return value === parts[0];
  const head = parts[0];
  const tail = parts[last];
  if (value.length < head.length + tail.length || !value.startsWith(head) || !value.endsWith(tail)) return false;
  // With only `*` as a metacharacter, taking the leftmost occurrence of each middle run is optimal.
  let from = head.length;
  const end = value.length - tail.length;
  for (let i = 1; i < last; i++) {
    const at = value.indexOf(parts[i], from);
    if (at < 0 || at + parts[i].length > end) return false;
    from = at + parts[i].length;
  }
  return true;
}

/**
 * Most "wildcard rule prefixes" AWS lets one field's matcher have active at once; a rule above it is
 * rejected with "Rule is too complex". Consistent with what AWS was seen to do: `"*:*:*:*:*:event-bus/*"`
 * (complexity 11) is rejected, a `/Users/` path with one star and five repeated `/dir` segments (7)
 * is accepted, and on one field three `"*:stack/<name>/*"` values (9) are accepted while four (12)
 * are not.
 */
export const MAX_WILDCARD_COMPLEXITY = 10;

/**
 * One pattern object as Ruler sees it: a plain `wildcard` is one value; an `anything-but` wildcard
 * list is one pattern whose values share the states of their common literal prefix.
 */
export type WildcardGroup = readonly Wildcard[];

interface NfaState {
  readonly group: number;
  readonly weightKey: string;
  readonly loops: boolean;
  readonly next: Map<number, number[]>;
  readonly epsilon: number[];
}

/**
 * The worst-case number of wildcard rule prefixes that one input value can leave active in the
 * byte machine built from `groups` (Ruler's MachineComplexityEvaluator metric): the automaton runs
 * over UTF-8 bytes of the JSON-quoted value, and each active prefix counts once per pattern.
 * Evaluation stops as soon as the count exceeds `cap`.
 */
export function wildcardComplexity(
  groups: readonly WildcardGroup[],
  cap = MAX_WILDCARD_COMPLEXITY,
  /** Wrap values in JSON quotes as EventBridge does; `false` reproduces Ruler's unit-test setting. */
  quoted = true,
): number {
  const states: NfaState[] = [{ group: -1, weightKey: '', loops: false, next: new Map(), epsilon: [] }];
  groups.forEach((group, g) => {
    const prefixIds = new Map<string, number>(); // interns shared literal prefixes within the group
    group.forEach((wildcard, v) => addWildcard(states, g, v, tokensOf(wildcard, quoted), prefixIds));
  });

  const closure = (ids: Set<number>): number[] => {
    const out = [...ids];
    for (let i = 0; i < out.length; i++) {
      for (const e of states[out[i]].epsilon) {
        if (!ids.has(e)) {
          ids.add(e);
          out.push(e);
        }
      }
    }
    return out.sort((a, b) => a - b);
  };
  const weight = (ids: readonly number[]): number => {
    const keys = new Set<string>();
    for (const id of ids) if (id !== 0) keys.add(`${states[id].group}\u0000${states[id].weightKey}`);
    return keys.size;
  };

  // Explore every set of states some input can reach (subset construction), keeping the heaviest.
  const start = closure(new Set([0]));
  const seen = new Set<string>([start.join(',')]);
  const pending = [start];
  let max = 0;
  while (pending.length > 0) {
    const current = pending.pop() as number[];
    const bytes = new Set<number>([STAR]); // STAR stands for every byte without its own transition
    for (const id of current) for (const b of states[id].next.keys()) bytes.add(b);
    for (const b of bytes) {
      const reached = new Set<number>();
      for (const id of current) {
        const s = states[id];
        if (s.loops) reached.add(id);
        for (const t of s.next.get(b) ?? []) reached.add(t);
      }
      if (reached.size === 0) continue;
      const ids = closure(reached);
      const w = weight(ids);
      if (w > cap) return w;
      if (w > max) max = w;
      const key = ids.join(',');
      if (!seen.has(key)) {
        seen.add(key);
        pending.push(ids);
      }
    }
  }
  return max;
}

function tokensOf(wildcard: Wildcard, quoted: boolean): number[] {
  const tokens: number[] = [];
  const encoder = new TextEncoder();
  const pushText = (s: string) => {
    for (const b of encoder.encode(s)) tokens.push(b);
  };
  if (quoted) tokens.push(0x22);
  wildcard.parts.forEach((part, i) => {
    if (i > 0) tokens.push(STAR);
    pushText(part);
  });
  if (quoted) tokens.push(0x22);
  return tokens;
}

/**
 * Adds one value's chain of states. Ruler shares the states of a literal prefix up to and including
 * the first star between the values of one pattern, and the final (matching) state; the states after
 * the first star are each value's own.
 */
function addWildcard(
  states: NfaState[],
  group: number,
  valueIndex: number,
  tokens: readonly number[],
  prefixIds: Map<string, number>,
): void {
  const firstStar = tokens.indexOf(STAR);
  let previous = 0;
  let prefixKey = '';
  for (let k = 1; k <= tokens.length; k++) {
    const token = tokens[k - 1];
    let weightKey: string;
    if (firstStar < 0 || k - 1 <= firstStar) {
      const path = `${prefixKey}/${token}`;
      let id = prefixIds.get(path);
      if (id === undefined) prefixIds.set(path, (id = prefixIds.size));
      prefixKey = weightKey = `p${id}`;
    } else {
      weightKey = k === tokens.length ? 'end' : `v${valueIndex}:${k}`;
    }
    const id = states.length;
    states.push({ group, weightKey, loops: token === STAR, next: new Map(), epsilon: [] });
    if (token === STAR) {
      states[previous].epsilon.push(id);
    } else {
      const targets = states[previous].next.get(token) ?? [];
      targets.push(id);
      states[previous].next.set(token, targets);
    }
    previous = id;
  }
}
