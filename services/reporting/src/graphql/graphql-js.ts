/*
 * graphql-js as Nest and mercurius load it. The package has no `exports` map and two builds:
 * Node resolves `graphql` to its CommonJS index.js, while a bundler-style resolver (Vite, so the
 * specs under Vitest) picks index.mjs; and two copies of graphql-js refuse each other's schemas,
 * types and errors. Naming the file keeps one copy wherever this service runs. Import graphql's
 * values from here; types may come from `graphql`.
 */
export {
  GraphQLError,
  GraphQLScalarType,
  Kind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  printSchema,
  specifiedRules,
  validate,
  valueFromAST,
} from 'graphql/index.js';
