import { z } from 'zod';
import { CliUsageError } from './errors.js';

const port = z.coerce.number().int().min(1).max(65535);
const text = z.string().min(1).optional();

/**
 * What the `nightshift` command reads from its environment, parsed once per call of `runCli` (main
 * passes the process's, tests their own). Flags win over these; without either, the platform
 * commands use the embedded default's choices (ports 3000 and 4010 on 127.0.0.1, home
 * `.nightshift`), through the same variables `npm start` reads, so a host started with
 * NIGHTSHIFT_HOME or NIGHTSHIFT_API_PORT is found without flags.
 */
export const cliEnvironmentSchema = z.object({
  /** The REST API's base URL (`--api`). */
  NIGHTSHIFT_API_URL: z.url().optional(),
  /** A bearer token for the REST API (`--token`): an API key or a JWT. */
  NIGHTSHIFT_API_TOKEN: text,
  /** The embedded platform's home (`--home`): where its `api-key` and `credentials.json` are. */
  NIGHTSHIFT_HOME: text,
  /** The embedded REST API's port, when NIGHTSHIFT_API_URL is not set. */
  NIGHTSHIFT_API_PORT: port.optional(),
  /** The embedded AWS gateway's port, when AWS_ENDPOINT_URL is not set. */
  NIGHTSHIFT_EVENTS_PORT: port.optional(),
  /** Where `land` sends S3 and PutEvents calls (`--aws-endpoint`); the embedded gateway when unset. */
  AWS_ENDPOINT_URL: z.url().optional(),
  AWS_REGION: text,
  /** `land`'s AWS credentials; without them, the upstream key in `<home>/credentials.json`. */
  AWS_ACCESS_KEY_ID: text,
  AWS_SECRET_ACCESS_KEY: text,
  AWS_SESSION_TOKEN: text,
});
export type CliEnvironment = z.infer<typeof cliEnvironmentSchema>;

/** The process's environment, for `main.ts` to hand to `runCli` (the one place the CLI reads it). */
export function processEnvironment(): Readonly<Record<string, string | undefined>> {
  return process.env;
}

/**
 * Parses the variables the command reads (empty values count as unset; others are ignored).
 * @throws CliUsageError naming every malformed variable: exit 2, like any bad input.
 */
export function parseCliEnvironment(env: Readonly<Record<string, string | undefined>>): CliEnvironment {
  const known = Object.fromEntries(Object.keys(cliEnvironmentSchema.shape).flatMap((k) => (env[k] ? [[k, env[k]]] : [])));
  const parsed = cliEnvironmentSchema.safeParse(known);
  if (!parsed.success) {
    throw new CliUsageError(`bad environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { cause: parsed.error });
  }
  return parsed.data;
}
