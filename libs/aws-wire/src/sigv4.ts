import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * AWS Signature Version 4 (header form), from AWS's documented algorithm: canonical request,
 * string to sign, signing key. Verification is what an AWS endpoint does with the `Authorization`
 * header; signing is its mirror, for clients that speak the wire without an SDK.
 */

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** How far a request's `X-Amz-Date` may be from the server's clock (AWS: 15 minutes, RequestTimeTooSkewed). */
export const SIGV4_MAX_SKEW_MS = 15 * 60 * 1000;

/** What the signature covers, as it arrived on the wire. */
export interface SigV4Request {
  method: string;
  /** Path and query exactly as sent (`IncomingMessage.url`). */
  url: string;
  /** Header names and values in arrival order, as `IncomingMessage.rawHeaders`. */
  rawHeaders: readonly string[];
}

/** A key pair, as the AWS SDK's `credentials`. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Why a request is not authenticated; each endpoint maps it onto its protocol's error code. */
export type SigV4Failure =
  /** No `Authorization` header. */
  | 'missing'
  /** An `Authorization` header that is not a well-formed SigV4 one (or no date to check). */
  | 'malformed'
  /** The access key id is not one of the configured keys. */
  | 'unknown-key'
  /** `X-Amz-Date` more than {@link SIGV4_MAX_SKEW_MS} from the server's clock. */
  | 'skewed'
  /** The signature is not the one the key's secret gives. */
  | 'bad-signature';

/** The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header. */
export interface SigV4Authorization {
  accessKeyId: string;
  /** `<yyyymmdd>/<region>/<service>/aws4_request`. */
  scope: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** The outcome of {@link verifySigV4}. */
export type SigV4Verification =
  | { ok: true; accessKeyId: string; region: string; service: string }
  | { ok: false; failure: SigV4Failure; message: string };

/** SHA-256 of a body, lowercase hex: the payload hash of a buffered body. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Parses the `Authorization` header, or says why it cannot: `missing` without one, `malformed` when
 * it is not a SigV4 header with a credential scope, signed headers (including `host`) and a signature.
 */
export function parseSigV4Authorization(
  request: Pick<SigV4Request, 'rawHeaders'>,
): { ok: true; authorization: SigV4Authorization } | { ok: false; failure: 'missing' | 'malformed'; message: string } {
  const value = headerValues(request.rawHeaders, 'authorization')[0];
  if (value === undefined || value.trim() === '') return { ok: false, failure: 'missing', message: 'Missing Authentication Token' };
  const malformed = (message: string) => ({ ok: false as const, failure: 'malformed' as const, message });
  const [algorithm, ...rest] = value.trim().split(/\s+/);
  if (algorithm !== ALGORITHM) return malformed(`Unsupported authorization type ${JSON.stringify(algorithm)} (only ${ALGORITHM})`);
  const fields = new Map<string, string>();
  for (const part of rest.join('').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    return malformed("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters");
  }
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]!) || parts.slice(0, 4).some((p) => p === '')) {
    return malformed(`Credential should be <access key id>/<yyyymmdd>/<region>/<service>/aws4_request, got ${JSON.stringify(credential)}`);
  }
  const [accessKeyId, date, region, service] = parts as [string, string, string, string];
  const headers = signedHeaders.split(';');
  if (!headers.includes('host')) return malformed("'Host' must be a signed header");
  if (!/^[0-9a-f]{64}$/.test(signature)) return malformed('Signature must be 64 lowercase hex digits');
  return {
    ok: true,
    authorization: { accessKeyId, scope: parts.slice(1).join('/'), date, region, service, signedHeaders: headers, signature },
  };
}

/**
 * Verifies a request's SigV4 `Authorization` header as AWS does. `payloadHash` is the hash the
 * signature covers: the request's `x-amz-content-sha256` when it sent one (S3 always does, and
 * `UNSIGNED-PAYLOAD` or `STREAMING-...` are taken as they are, as AWS does for the seed signature),
 * else the SHA-256 of the body. Checks, in order: a header is there and well-formed, the key is
 * known (`secretOf`), the date is within {@link SIGV4_MAX_SKEW_MS} of `now`, the signature.
 * Presigned URLs (query-string authentication) are not supported: such a request is `missing`.
 */
export function verifySigV4(
  request: SigV4Request,
  payloadHash: string,
  secretOf: (accessKeyId: string) => string | undefined,
  now: Date = new Date(),
): SigV4Verification {
  const parsed = parseSigV4Authorization(request);
  if (!parsed.ok) return parsed;
  const auth = parsed.authorization;
  const secret = secretOf(auth.accessKeyId);
  if (secret === undefined) {
    return { ok: false, failure: 'unknown-key', message: 'The security token included in the request is invalid.' };
  }
  const amzDate = headerValues(request.rawHeaders, 'x-amz-date')[0]?.trim() ?? formatAmzDate(headerValues(request.rawHeaders, 'date')[0]);
  const signedAt = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (amzDate === undefined || signedAt === undefined) {
    return { ok: false, failure: 'malformed', message: 'Authorization requires a valid X-Amz-Date (or Date) header' };
  }
  if (Math.abs(now.getTime() - signedAt.getTime()) > SIGV4_MAX_SKEW_MS) {
    return {
      ok: false,
      failure: 'skewed',
      message: `The difference between the request time (${amzDate}) and the current time (${formatDate(now)}) is too large.`,
    };
  }
  const expected = signature(secret, auth, amzDate, canonicalRequest(request, auth.signedHeaders, payloadHash, auth.service));
  const given = Buffer.from(auth.signature, 'hex');
  if (!amzDate.startsWith(auth.date) || !timingSafeEqual(Buffer.from(expected, 'hex'), given)) {
    return {
      ok: false,
      failure: 'bad-signature',
      message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  }
  return { ok: true, accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service };
}

/** What {@link signSigV4} signs. */
export interface SigV4SigningRequest {
  method: string;
  /** Full URL; its host (and port) is signed as the `host` header. */
  url: string;
  /** Headers to send and sign (besides `host` and `x-amz-date`, which are added). */
  headers?: Record<string, string>;
  body?: string | Buffer;
  region: string;
  service: string;
  now?: Date;
}

/**
 * Signs a request as the AWS SDK does (header form, every given header signed), for clients that
 * speak the wire without an SDK. Returns the headers to send, `authorization` among them.
 */
export function signSigV4(request: SigV4SigningRequest, credentials: AwsCredentials): Record<string, string> {
  const url = new URL(request.url);
  const amzDate = formatDate(request.now ?? new Date());
  const headers: Record<string, string> = { ...lowerKeys(request.headers ?? {}), host: url.host, 'x-amz-date': amzDate };
  const signedHeaders = Object.keys(headers).sort();
  const date = amzDate.slice(0, 8);
  const auth = { date, region: request.region, service: request.service, scope: `${date}/${request.region}/${request.service}/aws4_request` };
  const raw = Object.entries(headers).flat();
  const payloadHash = headers['x-amz-content-sha256'] ?? sha256Hex(request.body ?? '');
  const canonical = canonicalRequest({ method: request.method, url: url.pathname + url.search, rawHeaders: raw }, signedHeaders, payloadHash, request.service);
  const sig = signature(credentials.secretAccessKey, auth, amzDate, canonical);
  return {
    ...headers,
    authorization: `${ALGORITHM} Credential=${credentials.accessKeyId}/${auth.scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`,
  };
}

/**
 * The canonical request. S3 signs the path as sent; every other service signs it URI-encoded once
 * more (each segment), as the SDK's signer does with `uriEscapePath`.
 */
function canonicalRequest(request: SigV4Request, signedHeaders: readonly string[], payloadHash: string, service: string): string {
  const q = request.url.indexOf('?');
  const path = (q < 0 ? request.url : request.url.slice(0, q)) || '/';
  const query = q < 0 ? '' : request.url.slice(q + 1);
  const canonicalPath = service === 's3' ? path : path.split('/').map(uriEscape).join('/');
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${headerValues(request.rawHeaders, name).map(trimAll).join(',')}\n`).join('');
  return [request.method.toUpperCase(), canonicalPath, canonicalQuery(query), canonicalHeaders, signedHeaders.join(';'), payloadHash].join('\n');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const [k, v] = eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
      return [uriEscape(decode(k)), uriEscape(decode(v))] as const;
    })
    .filter(([k]) => k !== 'X-Amz-Signature');
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function signature(secret: string, auth: Pick<SigV4Authorization, 'date' | 'region' | 'service' | 'scope'>, amzDate: string, canonical: string): string {
  const stringToSign = [ALGORITHM, amzDate, auth.scope, sha256Hex(canonical)].join('\n');
  let key: Buffer = hmac(`AWS4${secret}`, auth.date);
  for (const part of [auth.region, auth.service, 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** Every value of a header, in arrival order (repeated headers are joined with ',' in the canonical form). */
function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!);
  return values;
}

function trimAll(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

/** RFC 3986 encoding: unreserved characters stay, everything else is %XX (uppercase). */
function uriEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** `YYYYMMDD'T'HHMMSS'Z'`. */
function formatDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isFinite(d.getTime()) ? d : undefined;
}

/** An RFC 7231 `Date` header in the X-Amz-Date form, for clients that sign with `Date` alone. */
function formatAmzDate(httpDate: string | undefined): string | undefined {
  if (httpDate === undefined) return undefined;
  const d = new Date(httpDate);
  return Number.isFinite(d.getTime()) ? formatDate(d) : undefined;
}
