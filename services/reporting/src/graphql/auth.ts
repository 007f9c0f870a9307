import { ForbiddenException, Inject, Injectable, SetMetadata, createParamDecorator, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import { ApiProblemError } from '../api/api-problem.js';
import type { AuthOutcome } from '../auth/bearer-authenticator.js';
import { hasRole, type Principal, type Role } from '../auth/principal.js';
import type { RequestLoaders } from './loaders.js';

/*
 * Who calls GraphQL: the REST API's bearer tokens, checked by the same BearerAuthenticator. An HTTP
 * request's token is its `Authorization` header (the context function); a WebSocket's is the
 * `authorization` of its `connection_init` payload (`{ authorization: 'Bearer <token>' }`, or
 * `{ headers: { authorization } }`), read once per connection. The outcome rides in the context; an
 * operation without a valid token is refused before it is parsed (401/403/503, as REST), and each
 * root field needs the role REST's route needs (viewer unless `@GraphQLRole`).
 */

/** What every resolver finds in its context. */
export interface GraphQLContext {
  /** How the caller's token was judged; absent only if neither the context function nor connection_init ran. */
  auth?: AuthOutcome;
  /** The request's batch loaders (see RequestLoaders), made on first use. */
  loaders?: RequestLoaders;
}

/** The `connection_init` payload of a subscription client. */
export interface ConnectionInitPayload {
  authorization?: unknown;
  Authorization?: unknown;
  headers?: { authorization?: unknown; Authorization?: unknown };
}

/** The bearer token of a WebSocket connection, from its `connection_init` payload. */
export function connectionAuthorization(payload: ConnectionInitPayload | undefined): string | undefined {
  const given = [payload?.authorization, payload?.Authorization, payload?.headers?.authorization, payload?.headers?.Authorization].find((v) => typeof v === 'string');
  return typeof given === 'string' ? given : undefined;
}

/** The refusal of an outcome that is not `authenticated`, as REST answers it. */
export function refusal(outcome: AuthOutcome | undefined): ApiProblemError | undefined {
  if (outcome === undefined) return new ApiProblemError(401, 'missing bearer token');
  switch (outcome.kind) {
    case 'authenticated':
      return undefined;
    case 'unauthenticated':
      return new ApiProblemError(401, outcome.reason);
    case 'forbidden':
      return new ApiProblemError(403, outcome.reason);
    case 'unavailable':
      return new ApiProblemError(503, outcome.reason);
  }
}

/** The authenticated caller of an operation (an operation is refused before it runs without one). */
export function principalOf(context: GraphQLContext): Principal {
  const refused = refusal(context.auth);
  if (refused || context.auth?.kind !== 'authenticated') throw refused ?? new ApiProblemError(401, 'not authenticated');
  return context.auth.principal;
}

/** The resolver's caller. */
export const Caller = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => principalOf(GqlExecutionContext.create(ctx).getContext<GraphQLContext>()));

const REQUIRED_ROLE = 'nightshift:graphql-role';
/** The least role a root field needs (viewer without it): the same as the REST route that does the same. */
export const GraphQLRole = (role: Role) => SetMetadata(REQUIRED_ROLE, role);

/** Checks the caller's role against the field's `@GraphQLRole` (403 as REST when below it). */
@Injectable()
export class GraphQLRoleGuard implements CanActivate {
  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const principal = principalOf(GqlExecutionContext.create(context).getContext<GraphQLContext>());
    const required = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, [context.getHandler(), context.getClass()]) ?? 'viewer';
    if (!hasRole(principal.role, required)) throw new ForbiddenException(`this needs the ${required} role; the token has ${principal.role}`);
    return true;
  }
}
