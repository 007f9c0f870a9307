import type { MercuriusDriverConfig } from '@nestjs/mercurius';
import { MercuriusDriver } from '@nestjs/mercurius';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { BearerAuthenticator } from '../auth/bearer-authenticator.js';
import { connectionAuthorization, refusal, type ConnectionInitPayload, type GraphQLContext } from './auth.js';
import { formatExecution, problemError } from './errors.js';
import { GraphQLError, specifiedRules, validate } from './graphql-js.js';
import { MAX_QUERY_COST, MAX_QUERY_DEPTH, queryCostRule } from './limits.js';
import { BacktestSection, ExecutionSection, PerformanceSection, RiskSection, TcaSection, UntypedSection } from './types/report.types.js';

/** Where GraphQL answers: POST (and GET for queries) over HTTP, and WebSocket subscriptions. */
export const GRAPHQL_PATH = '/graphql';
/** How often an idle subscription connection is pinged (proxies close silent connections). */
const KEEP_ALIVE_MS = 20_000;

interface HeaderRequest {
  headers: Record<string, string | string[] | undefined>;
}
interface HookContext extends GraphQLContext {
  reply?: { header(name: string, value: string): unknown; log?: { error(obj: unknown, msg: string): void } };
}

/** Refuses an operation whose caller is not authenticated (before it is parsed), as REST does. */
function requireCaller(context: HookContext): void {
  const refused = refusal(context.auth);
  if (!refused) return;
  if (refused.status === 401) {
    const invalid = context.auth?.kind === 'unauthenticated' && context.auth.reason !== 'missing bearer token' ? ', error="invalid_token"' : '';
    context.reply?.header('WWW-Authenticate', `Bearer realm="nightshift"${invalid}`);
  }
  throw problemError(refused);
}

/**
 * Mercurius runs no validation for subscriptions: the standard rules and the cost limit run here,
 * so a subscription is refused as a query would be.
 */
function validateSubscription(schema: GraphQLSchema, document: DocumentNode): void {
  const [first] = validate(schema, document, [...specifiedRules, queryCostRule(MAX_QUERY_COST)]);
  if (first) throw problemError(first instanceof GraphQLError ? first : new GraphQLError(String(first)));
}

/**
 * The GraphQL module's options: code-first schema at GRAPHQL_PATH, GraphiQL off (mercurius' page
 * loads its assets from a CDN), the depth and cost limits (limits.ts), REST's problem details in
 * every error (errors.ts), bearer tokens checked by `authenticator` (auth.ts), subscriptions over
 * graphql-transport-ws and graphql-ws.
 */
export function graphqlOptions(authenticator: () => BearerAuthenticator): MercuriusDriverConfig {
  return {
    driver: MercuriusDriver,
    path: GRAPHQL_PATH,
    autoSchemaFile: true,
    sortSchema: true,
    graphiql: false,
    buildSchemaOptions: { orphanedTypes: [TcaSection, ExecutionSection, RiskSection, PerformanceSection, BacktestSection, UntypedSection] },
    // The cost of a query depends on its variables (`first: $n`), so validation is not cached per query text.
    cache: false,
    queryDepth: MAX_QUERY_DEPTH,
    validationRules: ({ variables }) => [queryCostRule(MAX_QUERY_COST, variables ?? {})],
    context: async (request: HeaderRequest): Promise<GraphQLContext> => {
      const header = request.headers['authorization'];
      return { auth: await authenticator().authenticate(Array.isArray(header) ? header[0] : header) };
    },
    // Internal errors are logged with the request (their message is not in the answer).
    errorFormatter: (execution, context) =>
      formatExecution(execution, (error) => (context as HookContext).reply?.log?.error({ err: error }, 'graphql: internal error')) as ReturnType<
        NonNullable<MercuriusDriverConfig['errorFormatter']>
      >,
    hooks: {
      preParsing: (_schema, _source, context) => requireCaller(context as HookContext),
      preSubscriptionParsing: (_schema, _source, context) => requireCaller(context as HookContext),
      preSubscriptionExecution: (schema, document) => validateSubscription(schema, document),
    },
    subscription: {
      keepAlive: KEEP_ALIVE_MS,
      // Accepts every connection, with the verdict on its token: an operation on it is refused with the problem (see requireCaller).
      onConnect: async ({ payload }: { payload?: ConnectionInitPayload }): Promise<GraphQLContext> => ({
        auth: await authenticator().authenticate(connectionAuthorization(payload)),
      }),
    },
  };
}
