import { createServer } from 'node:net';

/** A TCP port the host listens on, and how the person starting it names and changes it. */
export interface HostPort {
  port: number;
  host: string;
  /** What listens there, e.g. "the REST API". */
  what: string;
  /** The variable (or flag) that sets it. */
  variable: string;
}

/** A port the host needs is taken, or not this user's to open: main prints the message and exits 2. */
export class PortUnavailableError extends Error {
  readonly retryable = false;
  constructor(
    readonly hostPort: HostPort,
    readonly code: 'EADDRINUSE' | 'EACCES',
    options?: { cause?: unknown },
  ) {
    const { port, host, what, variable } = hostPort;
    super(
      code === 'EADDRINUSE'
        ? `port ${port} on ${host} (${what}) is already in use by another process: stop it, or set ${variable} to a free port (0 picks one)`
        : `port ${port} on ${host} (${what}) may not be opened by this user: set ${variable} to a port above 1023 (0 picks one)`,
      options,
    );
    this.name = 'PortUnavailableError';
  }
}

/**
 * Checks that each port (but 0, any free one) can be listened on, by listening and closing at once:
 * before the platform starts anything, so a busy port refuses the start with its name and the
 * variable to change, instead of a stack trace after the embedded DynamoDB and the bus were opened.
 * Another process may still take the port between this check and the real listen: see
 * {@link asPortUnavailable}.
 */
export async function checkPortsFree(ports: readonly HostPort[]): Promise<void> {
  for (const p of ports) {
    if (p.port === 0) continue;
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', (e) => {
        const code = codeOf(e);
        reject(code === 'EADDRINUSE' || code === 'EACCES' ? new PortUnavailableError(p, code, { cause: e }) : e);
      });
      probe.listen({ port: p.port, host: p.host, exclusive: true }, () => probe.close(() => resolve()));
    });
  }
}

/**
 * The start's failure as a {@link PortUnavailableError} when it (or an error it was caused by) is a
 * listen refused on one of `ports` (EADDRINUSE, EACCES); undefined otherwise.
 */
export function asPortUnavailable(error: unknown, ports: readonly HostPort[]): PortUnavailableError | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof PortUnavailableError) return e;
    const code = codeOf(e);
    if (code !== 'EADDRINUSE' && code !== 'EACCES') continue;
    const port = (e as { port?: unknown }).port;
    const hostPort = ports.find((p) => p.port !== 0 && p.port === port);
    if (hostPort) return new PortUnavailableError(hostPort, code, { cause: error });
  }
  return undefined;
}

function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}
