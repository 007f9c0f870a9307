import { PROBLEM_MEDIA_TYPE } from '@nightshift/api-contract';
import { z } from 'zod';
import { toProblem } from './api/api-problem.js';
import { checkDeployment, DEPLOYMENT_ENV_NAMES, deploymentEnv, deploymentFields, parseConfig } from '@nightshift/platform';
import { apiKeyRecordSchema } from './auth/api-keys.js';
import { DEFAULT_RETRY_POLICY, loadSubscriptionsFile, type RetryPolicy, type Subscription } from '@nightshift/notifications-domain';

// What a bad subscriptions file throws, for the hosts that report it.
export { InvalidSubscriptionsError } from '@nightshift/notifications-domain';

/** Reporting's configuration, parsed once at boot. */
export const reportingConfigSchema = z
  .object({
    ...deploymentFields,
    /** The queue reporting consumes (its SQS queue's name in aws mode). */
    queueName: z.string().min(1).default('reporting'),
    /** REST API listen address (0.0.0.0 in a container). */
    httpHost: z.string().default('127.0.0.1'),
    /** 0 picks a free port. */
    httpPort: z.number().int().min(0).max(65535).default(3000),
    concurrency: z.number().int().min(1).max(64).default(2),
    /** REST API: a request's headers must all arrive within this (else 408 and the connection closes). */
    httpHeadersTimeoutMs: z.number().int().min(1).max(600_000).default(10_000),
    /** REST API: a connection idle this long (a body that stops arriving, an idle keep-alive) is closed. */
    httpIdleTimeoutMs: z.number().int().min(1).max(600_000).default(10_000),
    /** REST API: a whole request (headers and body) must arrive within this (else 408 and the connection closes). */
    httpRequestTimeoutMs: z.number().int().min(1).max(600_000).default(30_000),
    /** REST API: largest request body accepted, in bytes (more answers 413). */
    httpBodyLimitBytes: z.number().int().min(1).max(64 * 1024 * 1024).default(1024 * 1024),
    /** CloudWatch Logs group of the worker's job logs (aws mode; AWS Batch's default). */
    jobLogGroup: z.string().min(1).default('/aws/batch/job'),
    /** REST API keys given inline (tests, the embedded host); only their SHA-256 (see `hashApiKey`). */
    apiKeys: z.array(apiKeyRecordSchema).default([]),
    /** A file of API keys (`{ keys: [{ id, keyHash, role, tenant? }] }`), read at boot; the embedded default's is `<home>/api-keys.json`. */
    apiKeysFile: z.string().min(1).optional(),
    /** JWKS that JWT bearer tokens are verified against (your identity provider's `jwks_uri`). */
    jwksUrl: z.string().url().optional(),
    /** The `iss` a JWT must have (checked when set). */
    jwtIssuer: z.string().min(1).optional(),
    /** The `aud` a JWT must have (checked when set). */
    jwtAudience: z.string().min(1).optional(),
    /**
     * The notification subscriptions file (YAML or JSON: webhooks and SNS topics, see
     * docs/notifications.md), read at boot: a missing or bad file stops the start, naming the file,
     * entry and field. The embedded host's default is `<home>/webhooks.yaml` when it exists.
     */
    webhooksFile: z.string().min(1).optional(),
    /** An SNS topic every notification is also published to (aws mode): a subscription named `sns`, events `*`. */
    notificationsTopicArn: z.string().min(1).optional(),
    /** Attempts of one notification delivery, the first included, before it is DEAD. */
    notificationMaxAttempts: z.number().int().min(1).max(50).default(DEFAULT_RETRY_POLICY.maxAttempts),
    /** Backoff before a delivery's 2nd attempt, doubled for each one after (with jitter). */
    notificationBackoffMs: z.number().int().min(1).max(3_600_000).default(DEFAULT_RETRY_POLICY.baseDelayMs),
    /** Longest backoff between two attempts (a receiver's Retry-After is honoured up to it). */
    notificationMaxBackoffMs: z.number().int().min(1).max(86_400_000).default(DEFAULT_RETRY_POLICY.maxDelayMs),
    /** One delivery attempt's time limit. */
    notificationTimeoutMs: z.number().int().min(100).max(300_000).default(DEFAULT_RETRY_POLICY.attemptTimeoutMs),
    /** How often the store is asked for due deliveries (besides the in-process wake-ups). */
    notificationPollMs: z.number().int().min(10).max(600_000).default(5_000),
    /**
     * The code version reports name in their provenance (a build sets it, e.g. `0.1.0+9f2c1e4a7b3d`);
     * when absent, the package version plus the git commit where there is a checkout (see code-version.ts).
     */
    codeVersion: z.string().min(1).max(200).optional(),
  })
  .superRefine(checkDeployment)
  .superRefine((config, ctx) => {
    // Node refuses a headers timeout longer than the request timeout.
    if (config.httpHeadersTimeoutMs > config.httpRequestTimeoutMs) {
      ctx.addIssue({ code: 'custom', path: ['httpHeadersTimeoutMs'], message: `must not exceed httpRequestTimeoutMs (${config.httpRequestTimeoutMs})` });
    }
  })
  .superRefine((config, ctx) => {
    // No mode serves the REST API unauthenticated: the embedded host passes its keys file.
    if (config.apiKeys.length === 0 && config.apiKeysFile === undefined && config.jwksUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiKeysFile'],
        message: 'the REST API refuses to start without authentication: set NIGHTSHIFT_API_KEYS_FILE (API keys) and/or NIGHTSHIFT_JWKS_URL (JWTs)',
      });
    }
  });
export type ReportingConfig = z.infer<typeof reportingConfigSchema>;

/** Reads the config from the environment (the standalone deployable); names each variable that is wrong. */
export function loadReportingConfig(env: NodeJS.ProcessEnv = process.env): ReportingConfig {
  const num = (name: string) => (env[name] ? Number(env[name]) : undefined);
  return parseConfig(
    reportingConfigSchema,
    {
      ...deploymentEnv(env),
      queueName: env['NIGHTSHIFT_QUEUE'] || undefined,
      httpHost: env['NIGHTSHIFT_HTTP_HOST'] || undefined,
      httpPort: num('NIGHTSHIFT_HTTP_PORT') ?? num('PORT'),
      concurrency: num('NIGHTSHIFT_CONCURRENCY'),
      httpHeadersTimeoutMs: num('NIGHTSHIFT_HTTP_HEADERS_TIMEOUT_MS'),
      httpIdleTimeoutMs: num('NIGHTSHIFT_HTTP_IDLE_TIMEOUT_MS'),
      httpRequestTimeoutMs: num('NIGHTSHIFT_HTTP_REQUEST_TIMEOUT_MS'),
      httpBodyLimitBytes: num('NIGHTSHIFT_HTTP_BODY_LIMIT_BYTES'),
      jobLogGroup: env['NIGHTSHIFT_JOB_LOG_GROUP'] || undefined,
      apiKeysFile: env['NIGHTSHIFT_API_KEYS_FILE'] || undefined,
      jwksUrl: env['NIGHTSHIFT_JWKS_URL'] || undefined,
      jwtIssuer: env['NIGHTSHIFT_JWT_ISSUER'] || undefined,
      jwtAudience: env['NIGHTSHIFT_JWT_AUDIENCE'] || undefined,
      webhooksFile: env['NIGHTSHIFT_WEBHOOKS_FILE'] || undefined,
      notificationsTopicArn: env['NIGHTSHIFT_NOTIFICATIONS_TOPIC_ARN'] || undefined,
      notificationMaxAttempts: num('NIGHTSHIFT_NOTIFICATION_MAX_ATTEMPTS'),
      notificationBackoffMs: num('NIGHTSHIFT_NOTIFICATION_BACKOFF_MS'),
      notificationMaxBackoffMs: num('NIGHTSHIFT_NOTIFICATION_MAX_BACKOFF_MS'),
      notificationTimeoutMs: num('NIGHTSHIFT_NOTIFICATION_TIMEOUT_MS'),
      notificationPollMs: num('NIGHTSHIFT_NOTIFICATION_POLL_MS'),
      codeVersion: env['NIGHTSHIFT_CODE_VERSION'] || undefined,
    },
    {
      ...DEPLOYMENT_ENV_NAMES,
      queueName: 'NIGHTSHIFT_QUEUE',
      httpHost: 'NIGHTSHIFT_HTTP_HOST',
      httpPort: 'NIGHTSHIFT_HTTP_PORT',
      concurrency: 'NIGHTSHIFT_CONCURRENCY',
      httpHeadersTimeoutMs: 'NIGHTSHIFT_HTTP_HEADERS_TIMEOUT_MS',
      httpIdleTimeoutMs: 'NIGHTSHIFT_HTTP_IDLE_TIMEOUT_MS',
      httpRequestTimeoutMs: 'NIGHTSHIFT_HTTP_REQUEST_TIMEOUT_MS',
      httpBodyLimitBytes: 'NIGHTSHIFT_HTTP_BODY_LIMIT_BYTES',
      jobLogGroup: 'NIGHTSHIFT_JOB_LOG_GROUP',
      apiKeysFile: 'NIGHTSHIFT_API_KEYS_FILE',
      jwksUrl: 'NIGHTSHIFT_JWKS_URL',
      jwtIssuer: 'NIGHTSHIFT_JWT_ISSUER',
      jwtAudience: 'NIGHTSHIFT_JWT_AUDIENCE',
      webhooksFile: 'NIGHTSHIFT_WEBHOOKS_FILE',
      notificationsTopicArn: 'NIGHTSHIFT_NOTIFICATIONS_TOPIC_ARN',
      notificationMaxAttempts: 'NIGHTSHIFT_NOTIFICATION_MAX_ATTEMPTS',
      notificationBackoffMs: 'NIGHTSHIFT_NOTIFICATION_BACKOFF_MS',
      notificationMaxBackoffMs: 'NIGHTSHIFT_NOTIFICATION_MAX_BACKOFF_MS',
      notificationTimeoutMs: 'NIGHTSHIFT_NOTIFICATION_TIMEOUT_MS',
      notificationPollMs: 'NIGHTSHIFT_NOTIFICATION_POLL_MS',
      codeVersion: 'NIGHTSHIFT_CODE_VERSION',
    },
    'reporting',
  );
}

/**
 * The notification subscriptions of `config`: its `webhooksFile`'s (secrets given by `secretEnv`
 * are read from `env`), plus one named `sns` for `notificationsTopicArn`. Throws
 * `InvalidSubscriptionsError` naming the file, entry and field of each problem.
 */
export function loadNotificationSubscriptions(config: Pick<ReportingConfig, 'webhooksFile' | 'notificationsTopicArn'>, env: NodeJS.ProcessEnv = process.env): Subscription[] {
  const subscriptions = config.webhooksFile === undefined ? [] : loadSubscriptionsFile(config.webhooksFile, { env });
  if (config.notificationsTopicArn !== undefined) subscriptions.push({ name: 'sns', events: '*', target: { kind: 'sns', topicArn: config.notificationsTopicArn } });
  return subscriptions;
}

/** The delivery retry policy of `config`. */
export function notificationRetryPolicy(config: ReportingConfig): RetryPolicy {
  return { maxAttempts: config.notificationMaxAttempts, baseDelayMs: config.notificationBackoffMs, maxDelayMs: config.notificationMaxBackoffMs, attemptTimeoutMs: config.notificationTimeoutMs };
}

/** The FastifyAdapter options of reporting's REST API (`new FastifyAdapter(reportingHttpOptions(config))`). */
export interface ReportingHttpOptions {
  /** Socket inactivity timeout (Fastify's `connectionTimeout`). */
  connectionTimeout: number;
  /** Whole-request receive timeout (Node's `requestTimeout`). */
  requestTimeout: number;
  bodyLimit: number;
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
  /** Fastify's answer to a request its router refuses before Nest sees it (bad URL encoding, a path parameter too long): problem details too. */
  frameworkErrors: (error: Error & { statusCode?: number }, request: { url?: string }, reply: unknown) => void;
}

interface ProblemReply {
  code(status: number): ProblemReply;
  header(name: string, value: string): ProblemReply;
  send(body: string): unknown;
}

/**
 * Bounded timeouts and body size for the REST API's server, from the config: headers within
 * `httpHeadersTimeoutMs`, the whole request within `httpRequestTimeoutMs` (Node answers 408 and
 * closes), an idle connection closed after `httpIdleTimeoutMs`, a body over `httpBodyLimitBytes` 413.
 * Node checks the headers and request timeouts every `connectionsCheckingInterval` (30 s by
 * default, which would let a request live twice its bound): at most 1 s here.
 */
export function reportingHttpOptions(config: Pick<ReportingConfig, 'httpHeadersTimeoutMs' | 'httpIdleTimeoutMs' | 'httpRequestTimeoutMs' | 'httpBodyLimitBytes'>): ReportingHttpOptions {
  return {
    connectionTimeout: config.httpIdleTimeoutMs,
    requestTimeout: config.httpRequestTimeoutMs,
    bodyLimit: config.httpBodyLimitBytes,
    http: {
      headersTimeout: config.httpHeadersTimeoutMs,
      requestTimeout: config.httpRequestTimeoutMs,
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(config.httpHeadersTimeoutMs / 4))),
    },
    frameworkErrors: (error, request, reply) => {
      const problem = toProblem(error, request.url?.split('?')[0]);
      (reply as ProblemReply).code(problem.status).header('content-type', `${PROBLEM_MEDIA_TYPE}; charset=utf-8`).send(JSON.stringify(problem));
    },
  };
}
