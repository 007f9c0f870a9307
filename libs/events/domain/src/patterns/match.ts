import type { CompiledField, CompiledPattern } from './compile.js';
import { collectFields, combineMemberships, type EventValue, type Membership } from './event-fields.js';

const NONE: readonly EventValue[] = [];

/** Per-event view of the collected values: all values of a field, and those its test accepts. */
interface EventView {
  readonly present: ReadonlyMap<string, readonly EventValue[]>;
  readonly accepted: (readonly EventValue[] | undefined)[];
}

/**
 * Whether `event` satisfies `pattern`: some alternative rule (one per `$or` combination) has every
 * field satisfied, using values that are array-consistent with each other. That is EventBridge's
 * rule: two values taken from objects in different elements of the same event array never satisfy
 * one rule together.
 *
 * `{"exists": false}` is decided the way EventBridge's matcher walks fields (in name order): the field
 * counts as absent when no value of it is array-consistent with the values already chosen for the
 * fields before it.
 */
export function matchCompiled(pattern: CompiledPattern, event: unknown): boolean {
  const view: EventView = { present: collectFields(event, pattern.index), accepted: new Array(pattern.fieldCount) };
  for (const rule of pattern.rules) {
    // Cheap rejection first: a field that must be present but has no accepted value sinks the rule.
    let possible = true;
    for (const field of rule) {
      if (!field.mayBeAbsent && accepted(view, field).length === 0) {
        possible = false;
        break;
      }
    }
    if (possible && satisfy(rule, 0, [], view)) return true;
  }
  return false;
}

function accepted(view: EventView, field: CompiledField): readonly EventValue[] {
  let values = view.accepted[field.id];
  if (values === undefined) {
    const present = view.present.get(field.name);
    const test = field.test;
    values = present === undefined || test === undefined ? NONE : present.filter((v) => test(v.value));
    view.accepted[field.id] = values;
  }
  return values;
}

function satisfy(rule: readonly CompiledField[], index: number, membership: Membership, view: EventView): boolean {
  if (index === rule.length) return true;
  const field = rule[index];
  // Values that place the rule in the same array elements lead to the same outcome: try each once.
  let triedOutsideArrays = false;
  let tried: Set<string> | undefined;
  for (const candidate of accepted(view, field)) {
    const combined = combineMemberships(membership, candidate.membership);
    if (combined === undefined) continue;
    if (combined.length === 0) {
      if (triedOutsideArrays) continue;
      triedOutsideArrays = true;
    } else {
      const key = combined.join(',');
      if (tried?.has(key)) continue;
      (tried ??= new Set()).add(key);
    }
    if (satisfy(rule, index + 1, combined, view)) return true;
  }
  if (field.mayBeAbsent) {
    const present = view.present.get(field.name) ?? NONE;
    const absent = present.every((v) => combineMemberships(membership, v.membership) === undefined);
    if (absent && satisfy(rule, index + 1, membership, view)) return true;
  }
  return false;
}
