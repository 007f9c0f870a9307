import {
  ForbiddenException,
  Inject,
  Injectable,
  ServiceUnavailableException,
  SetMetadata,
  UnauthorizedException,
  createParamDecorator,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AUTHENTICATOR } from '../tokens.js';
import type { BearerAuthenticator } from './bearer-authenticator.js';
import { hasRole, type Principal, type Role } from './principal.js';

const REQUIRED_ROLE = 'nightshift:required-role';
const PUBLIC = 'nightshift:public';

/** The least role a route needs; routes without it need `viewer`. */
export const RequireRole = (role: Role) => SetMetadata(REQUIRED_ROLE, role);
/** A route anyone may call (`/health`). */
export const Public = () => SetMetadata(PUBLIC, true);

interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  principal?: Principal;
}
interface HeaderSetter {
  header(name: string, value: string): unknown;
}

/** The caller the guard authenticated (a route behind {@link BearerAuthGuard} always has one). */
export const Caller = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new UnauthorizedException('not authenticated');
  return principal;
});

/**
 * Every REST route needs `Authorization: Bearer <token>` (an API key or a JWT) unless `@Public()`:
 * 401 with `WWW-Authenticate: Bearer` when it is missing or invalid, 403 when its role is below the
 * route's `@RequireRole` (viewer by default). Responses never repeat the token.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    @Inject(AUTHENTICATOR) private readonly authenticator: BearerAuthenticator,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const header = request.headers['authorization'];
    const outcome = await this.authenticator.authenticate(Array.isArray(header) ? header[0] : header);
    switch (outcome.kind) {
      case 'unauthenticated': {
        const error = header ? ', error="invalid_token"' : '';
        http.getResponse<HeaderSetter>().header('WWW-Authenticate', `Bearer realm="nightshift"${error}`);
        throw new UnauthorizedException(outcome.reason);
      }
      case 'forbidden':
        throw new ForbiddenException(outcome.reason);
      case 'unavailable':
        throw new ServiceUnavailableException(outcome.reason);
      case 'authenticated': {
        const required = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets) ?? 'viewer';
        if (!hasRole(outcome.principal.role, required)) throw new ForbiddenException(`this needs the ${required} role; the token has ${outcome.principal.role}`);
        request.principal = outcome.principal;
        return true;
      }
    }
  }
}
