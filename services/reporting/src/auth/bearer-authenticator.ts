import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { InvalidAuthConfigError } from '../errors.js';
import { hashApiKey, loadApiKeysFile, type ApiKeyRecord } from './api-keys.js';
import { highestRole, tenantSchema, type Principal } from './principal.js';

/** How the REST API authenticates bearer tokens (reporting's config fields, see `config.ts`). */
export interface AuthSettings {
  apiKeys: readonly ApiKeyRecord[];
  apiKeysFile?: string | undefined;
  jwksUrl?: string | undefined;
  jwtIssuer?: string | undefined;
  jwtAudience?: string | undefined;
}

/** What a bearer token turned out to be. `unauthenticated` answers 401; `forbidden` 403; `unavailable` 503. */
export type AuthOutcome =
  | { kind: 'authenticated'; principal: Principal }
  | { kind: 'unauthenticated'; reason: string }
  | { kind: 'forbidden'; reason: string }
  | { kind: 'unavailable'; reason: string };

/** jose's verdicts on the token itself (as opposed to failing to fetch the keys). */
const TOKEN_ERRORS = [
  joseErrors.JWTExpired,
  joseErrors.JWTClaimValidationFailed,
  joseErrors.JWTInvalid,
  joseErrors.JWSInvalid,
  joseErrors.JWSSignatureVerificationFailed,
  joseErrors.JWKSNoMatchingKey,
  joseErrors.JWKSMultipleMatchingKeys,
  joseErrors.JOSEAlgNotAllowed,
  joseErrors.JOSENotSupported,
  joseErrors.JWKInvalid,
];

/** A compact JWS: three base64url parts. Anything else is looked up as an API key. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Turns a bearer token into a principal: an API key (looked up by its SHA-256) or a JWT verified
 * against the configured JWKS (signature, `exp`/`nbf`, issuer and audience when configured; role
 * from `roles` or `role`, tenant from `tenant`). Reasons never contain the token.
 */
export class BearerAuthenticator {
  private constructor(
    private readonly keys: ReadonlyMap<string, ApiKeyRecord>,
    private readonly jwt: { jwks: ReturnType<typeof createRemoteJWKSet>; issuer?: string; audience?: string } | undefined,
  ) {}

  /** Loads the keys file (if any) and prepares the JWKS (fetched on first use, then cached). Throws when nothing is configured. */
  static async create(settings: AuthSettings): Promise<BearerAuthenticator> {
    const records = [...settings.apiKeys, ...(settings.apiKeysFile ? await loadApiKeysFile(settings.apiKeysFile) : [])];
    if (records.length === 0 && !settings.jwksUrl) {
      throw new InvalidAuthConfigError('the REST API needs authentication: no API key and no JWKS URL is configured (NIGHTSHIFT_API_KEYS_FILE, NIGHTSHIFT_JWKS_URL)');
    }
    const keys = new Map<string, ApiKeyRecord>();
    for (const record of records) keys.set(record.keyHash, record);
    let jwt: { jwks: ReturnType<typeof createRemoteJWKSet>; issuer?: string; audience?: string } | undefined;
    if (settings.jwksUrl) {
      let url: URL;
      try {
        url = new URL(settings.jwksUrl);
      } catch (cause) {
        throw new InvalidAuthConfigError(`the JWKS URL is not a URL`, { cause });
      }
      jwt = {
        jwks: createRemoteJWKSet(url, { timeoutDuration: 5_000, cooldownDuration: 30_000 }),
        ...(settings.jwtIssuer ? { issuer: settings.jwtIssuer } : {}),
        ...(settings.jwtAudience ? { audience: settings.jwtAudience } : {}),
      };
    }
    return new BearerAuthenticator(keys, jwt);
  }

  /** Checks the `Authorization` header's value. */
  async authenticate(authorization: string | undefined): Promise<AuthOutcome> {
    if (!authorization) return { kind: 'unauthenticated', reason: 'missing bearer token' };
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!match) return { kind: 'unauthenticated', reason: 'the Authorization header is not "Bearer <token>"' };
    const token = match[1]!;
    if (this.jwt && JWT_SHAPE.test(token)) return this.verifyJwt(token, this.jwt);
    const record = this.keys.get(hashApiKey(token));
    if (!record) return { kind: 'unauthenticated', reason: 'invalid token' };
    return { kind: 'authenticated', principal: { subject: `api-key:${record.id}`, role: record.role, ...(record.tenant ? { tenant: record.tenant } : {}) } };
  }

  private async verifyJwt(token: string, jwt: NonNullable<BearerAuthenticator['jwt']>): Promise<AuthOutcome> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwt.jwks, {
        ...(jwt.issuer ? { issuer: jwt.issuer } : {}),
        ...(jwt.audience ? { audience: jwt.audience } : {}),
        requiredClaims: ['exp'],
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) return { kind: 'unauthenticated', reason: 'token expired' };
      if (TOKEN_ERRORS.some((type) => e instanceof type)) return { kind: 'unauthenticated', reason: 'invalid token' };
      // The JWKS could not be fetched or read: the token may well be good, so not a 401.
      return { kind: 'unavailable', reason: 'cannot verify tokens right now (JWKS unavailable)' };
    }
    const claimed = payload['roles'] ?? payload['role'];
    const role = highestRole(Array.isArray(claimed) ? claimed : [claimed]);
    if (!role) return { kind: 'forbidden', reason: 'the token grants no role (viewer, operator or admin in "roles" or "role")' };
    const tenantClaim = payload['tenant'];
    if (tenantClaim === undefined && role !== 'admin') return { kind: 'forbidden', reason: 'the token has no "tenant" claim' };
    if (tenantClaim !== undefined && !tenantSchema.safeParse(tenantClaim).success) return { kind: 'forbidden', reason: 'the token\'s "tenant" claim is not a tenant name' };
    return {
      kind: 'authenticated',
      principal: { subject: `jwt:${payload.sub ?? 'unknown'}`, role, ...(typeof tenantClaim === 'string' ? { tenant: tenantClaim } : {}) },
    };
  }
}
