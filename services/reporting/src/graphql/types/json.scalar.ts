import type { ValueNode } from 'graphql';
import { GraphQLScalarType, Kind } from '../graphql-js.js';

/** Any JSON value, for the parts of documents GraphQL does not type (a report's `document`, a job's status summary). */
export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value: an object, array, string, number, boolean or null.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast) => literal(ast),
});

function literal(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
    case Kind.ENUM:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literal);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value)]));
    case Kind.VARIABLE:
      // Variables are coerced by parseValue; a variable inside a literal is not supported.
      throw new TypeError(`JSON literals cannot contain variables ($${ast.name.value})`);
  }
}
