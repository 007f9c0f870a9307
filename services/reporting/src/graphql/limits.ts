import type { FieldNode, FragmentDefinitionNode, GraphQLField, GraphQLNamedType, GraphQLSchema, OperationDefinitionNode, SelectionSetNode, ValidationRule } from 'graphql';
import { GraphQLError, Kind, getNamedType, getNullableType, isInterfaceType, isListType, isObjectType, valueFromAST } from './graphql-js.js';

/*
 * What one GraphQL request may ask for. Two limits, both checked before anything is read:
 * - depth: at most MAX_QUERY_DEPTH levels of fields (mercurius' `queryDepth`; fragments spread in
 *   place, inline fragments count as a level). 10, not less: a listed report's typed section
 *   figures are 9 deep (reports > edges > node > sections > ... on TcaSection > by > groups >
 *   metrics > field);
 * - cost: at most MAX_QUERY_COST, where each field costs 1 (or what its `cost.field` extension
 *   says: a field that reads an object or asks the compute environment costs more), and the
 *   selection under a list is counted once per item it may hold: `first` for a field that takes
 *   `first` (its default when not given; a variable's value when it is one), else the field's
 *   `cost.listSize` extension, else DEFAULT_LIST_SIZE. Fragments on several types of a union or
 *   interface are all counted. The refusal names the cost and the limit.
 */

/** The field extension (`@Extensions({ [COST]: {...} })`) the cost rule reads. */
export const COST = 'cost';

export interface FieldCost {
  /** What the field itself costs (default 1). */
  field?: number;
  /** How many items the list the field returns holds at most, when it takes no `first`. */
  listSize?: number;
}

export const MAX_QUERY_DEPTH = 10;
export const MAX_QUERY_COST = 250_000;
/** Assumed size of a list that is neither paged (`first`) nor declares its `listSize`. */
export const DEFAULT_LIST_SIZE = 10;

/** The cost of each operation of `document` (see above); variables as given with the request. */
export function operationCost(schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, variables: Record<string, unknown> = {}): number {
  const root = operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  if (!root) return 0;
  const counter = new CostCounter(schema, fragments, variables);
  return counter.selections(root, operation.selectionSet, new Set());
}

/** Refuses an operation costing more than `limit`, with a message naming both. */
export function queryCostRule(limit: number, variables: Record<string, unknown> = {}): ValidationRule {
  return (context) => ({
    OperationDefinition: {
      leave(operation) {
        const fragments = new Map<string, FragmentDefinitionNode>();
        for (const d of context.getDocument().definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
        const cost = operationCost(context.getSchema(), operation, fragments, variables);
        if (cost > limit) {
          const name = operation.name ? `operation ${operation.name.value}` : 'the operation';
          context.reportError(
            new GraphQLError(`${name} costs ${cost}, above the limit of ${limit}: ask for fewer items (a smaller first) or fewer nested lists`, {
              nodes: [operation],
              extensions: { code: 'QUERY_TOO_COSTLY', cost, limit },
            }),
          );
        }
      },
    },
  });
}

class CostCounter {
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly variables: Record<string, unknown>,
  ) {}

  selections(type: GraphQLNamedType, set: SelectionSetNode, spreading: ReadonlySet<string>): number {
    let total = 0;
    for (const selection of set.selections) {
      switch (selection.kind) {
        case Kind.FIELD:
          total += this.field(type, selection, spreading);
          break;
        case Kind.INLINE_FRAGMENT: {
          const on = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : type;
          if (on) total += this.selections(on, selection.selectionSet, spreading);
          break;
        }
        case Kind.FRAGMENT_SPREAD: {
          const name = selection.name.value;
          const fragment = this.fragments.get(name);
          // A cycle is refused by the standard rules; counting it once is enough here.
          if (!fragment || spreading.has(name)) break;
          const on = this.schema.getType(fragment.typeCondition.name.value);
          if (on) total += this.selections(on, fragment.selectionSet, new Set([...spreading, name]));
          break;
        }
      }
    }
    return total;
  }

  private field(parent: GraphQLNamedType, node: FieldNode, spreading: ReadonlySet<string>): number {
    if (node.name.value.startsWith('__')) return 0;
    const def = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    // Unknown fields are the standard rules' to refuse.
    if (!def) return 0;
    const declared = (def.extensions?.[COST] ?? {}) as FieldCost;
    const children = node.selectionSet ? this.selections(getNamedType(def.type), node.selectionSet, spreading) : 0;
    return (declared.field ?? 1) + this.items(def, node, declared) * children;
  }

  /** How many items the selection under this field is counted for. */
  private items(def: GraphQLField<unknown, unknown>, node: FieldNode, declared: FieldCost): number {
    const firstArg = def.args.find((a) => a.name === 'first');
    if (firstArg) {
      const given = node.arguments?.find((a) => a.name.value === 'first');
      const value = (given ? valueFromAST(given.value, firstArg.type, this.variables) : undefined) ?? firstArg.defaultValue;
      return typeof value === 'number' && value > 0 ? value : DEFAULT_LIST_SIZE;
    }
    if (declared.listSize !== undefined) return declared.listSize;
    return isListType(getNullableType(def.type)) ? DEFAULT_LIST_SIZE : 1;
  }
}
