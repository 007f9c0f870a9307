import { Catch, type ExceptionFilter } from '@nestjs/common';
import type { Problem } from '@nightshift/api-contract';
import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import { ApiProblemError, toProblem } from '../api/api-problem.js';
import { GraphQLError } from './graphql-js.js';

/*
 * GraphQL errors as the REST API's: every error carries `extensions: { code, status, problem }`,
 * `problem` being the RFC 9457 problem details REST would answer (`toProblem`), so a client reads
 * the same `type`, `status` and `detail` whichever interface it called. GraphQL's own refusals
 * (syntax, unknown fields, bad variables, the depth and cost limits) are 400s.
 */

/** The `extensions` of every error the GraphQL API gives. */
export interface ProblemExtensions {
  [key: string]: unknown;
  /** A stable name for the kind of error, GraphQL style (`NOT_FOUND`, `FORBIDDEN`, `QUERY_TOO_COSTLY`, ...). */
  code: string;
  /** The HTTP status REST answers for it. */
  status: number;
  problem: Problem;
}

const CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'TOO_MANY_REQUESTS',
  503: 'UNAVAILABLE',
};

/** Mercurius' own error codes that name a GraphQL refusal. */
const MERCURIUS_CODES: Record<string, string> = {
  MER_ERR_GQL_QUERY_DEPTH: 'QUERY_TOO_DEEP',
  MER_ERR_GQL_VALIDATION: 'GRAPHQL_VALIDATION_FAILED',
};

export function codeOf(status: number): string {
  return CODES[status] ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
}

function hasProblem(extensions: unknown): extensions is ProblemExtensions {
  const e = extensions as Partial<ProblemExtensions> | undefined;
  return typeof e?.code === 'string' && typeof e.status === 'number' && typeof e.problem === 'object' && e.problem !== null;
}

/** The extensions of anything thrown while serving a GraphQL request. */
export function problemExtensions(error: unknown): ProblemExtensions {
  if (error instanceof GraphQLError) {
    if (hasProblem(error.extensions)) return error.extensions;
    const original = error.originalError;
    if (original !== undefined && !(original instanceof GraphQLError)) return problemExtensions(original);
    // GraphQL's own refusal (syntax, validation, variable coercion, a limit): the request is invalid.
    const code = typeof error.extensions['code'] === 'string' ? error.extensions['code'] : 'GRAPHQL_VALIDATION_FAILED';
    return { code, status: 400, problem: new ApiProblemError(400, error.message).toProblem() };
  }
  const mercurius = (error as { code?: unknown } | null)?.code;
  if (typeof mercurius === 'string' && MERCURIUS_CODES[mercurius] !== undefined) {
    // Mercurius' own refusal of the document (the depth limit): the request is invalid.
    return { code: MERCURIUS_CODES[mercurius], status: 400, problem: new ApiProblemError(400, error instanceof Error ? error.message : String(error)).toProblem() };
  }
  const problem = toProblem(error);
  return { code: codeOf(problem.status), status: problem.status, problem };
}

/** A GraphQLError carrying the problem of `error` (returned as it is when it carries one already). */
export function problemError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError && hasProblem(error.extensions)) return error;
  const extensions = problemExtensions(error);
  // The problem's detail, not the error's message: a 500 does not reveal what failed inside.
  const message = extensions.status >= 500 || !(error instanceof Error) ? extensions.problem.detail : error.message;
  return new GraphQLError(message, {
    ...(error instanceof GraphQLError ? { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path } : {}),
    ...(error instanceof Error ? { originalError: error } : {}),
    extensions,
  });
}

/** One error of a response, with its problem. */
export function formatError(error: unknown): GraphQLFormattedError {
  const extensions = problemExtensions(error);
  const gql = error instanceof GraphQLError ? error : undefined;
  const message = extensions.status >= 500 ? extensions.problem.detail : error instanceof Error ? error.message : extensions.problem.detail;
  return {
    message,
    ...(gql?.locations ? { locations: gql.locations } : {}),
    ...(gql?.path ? { path: gql.path } : {}),
    extensions,
  };
}

/** The errors a response carries: mercurius wraps a refused document's errors in one; they are listed one by one. */
function expand(error: GraphQLError): unknown[] {
  const inner = (error.originalError as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(inner) ? inner : [error];
}

/**
 * Mercurius' `errorFormatter`: every error with its problem. The HTTP status is 200 when there is
 * data (GraphQL over HTTP: a field's error does not fail the request); without data, the status of
 * its errors when they all have one (400 for a refused document, 401 without a valid token), else 200.
 */
export function formatExecution(execution: ExecutionResult & { statusCode?: number }, log?: (error: unknown) => void): { statusCode: number; response: ExecutionResult } {
  const errors = (execution.errors ?? []).flatMap(expand);
  const formatted = errors.map(formatError);
  for (const [i, error] of errors.entries()) if ((formatted[i]!.extensions as ProblemExtensions).status >= 500) log?.(error);
  const statuses = new Set(formatted.map((e) => (e.extensions as ProblemExtensions).status));
  const only = statuses.size === 1 ? [...statuses][0]! : undefined;
  const statusCode = execution.data == null && only !== undefined ? only : 200;
  return { statusCode, response: { data: execution.data ?? null, errors: formatted as unknown as GraphQLError[] } };
}

/**
 * Turns whatever a resolver (or its guard) throws into a GraphQLError with its problem. Needed where
 * mercurius sends errors without the formatter: a subscription refused when it starts.
 */
@Catch()
export class GraphQLProblemFilter implements ExceptionFilter {
  catch(error: unknown): GraphQLError {
    return problemError(error);
  }
}
