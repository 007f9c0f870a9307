import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Options of {@link LoopbackHttpServer}. */
export interface LoopbackHttpServerOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** The error {@link LoopbackHttpServer.url} throws while not listening: the endpoint's own condition. */
  notListening: () => Error;
  /**
   * What {@link LoopbackHttpServer.close} does with open connections. `idle` (the default): closes
   * the idle keep-alive ones and lets requests in flight finish. `all`: drops every connection,
   * answered or not.
   */
  closeConnections?: 'idle' | 'all';
  /**
   * How long a client may take to send a request's headers (Node's `server.headersTimeout`); then it
   * is answered 408 and the connection closed. Default 10 000.
   */
  headersTimeoutMs?: number;
  /**
   * How long a client may take to send a whole request, headers and body (Node's
   * `server.requestTimeout`); then it is answered 408 (if no answer was started) and the connection
   * closed. Default 30 000; not below `headersTimeoutMs`.
   */
  requestTimeoutMs?: number;
}

/** Defaults of {@link LoopbackHttpServerOptions}: a stalled client holds a connection for seconds, not for ever. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * An HTTP server on 127.0.0.1 that answers every request with {@link handle}: the lifecycle each
 * embedded AWS endpoint shares. Loopback only, because the endpoints check no signatures and trust
 * their machine.
 *
 * {@link handle} is public so that one server (the AWS gateway) can route to several endpoints
 * that are not listening themselves. After {@link close}, {@link listen} starts a new server.
 */
export abstract class LoopbackHttpServer {
  readonly #options: LoopbackHttpServerOptions;
  #server: Server | undefined;
  #port: number | undefined;

  protected constructor(options: LoopbackHttpServerOptions) {
    const headers = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
    const request = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (!(Number.isFinite(headers) && headers > 0)) throw new RangeError(`headersTimeoutMs must be a positive number, got ${headers}`);
    if (!(Number.isFinite(request) && request >= headers)) {
      throw new RangeError(`requestTimeoutMs must be a number not below headersTimeoutMs (${headers}), got ${request}`);
    }
    this.#options = options;
  }

  /** Answers one request, whichever server received it. Must never reject: a failure is an error response. */
  abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  /** Whether this server is listening (between {@link listen} and {@link close}). */
  get listening(): boolean {
    return this.#port !== undefined;
  }

  /** Starts listening (a no-op when listening already); resolves with {@link url}. Rejects when the port is taken. */
  async listen(): Promise<string> {
    if (this.#server) return this.url;
    const headersTimeout = this.#options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
    const requestTimeout = this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const server = createServer(
      {
        headersTimeout,
        requestTimeout,
        // Node checks the two timeouts only this often (30 s by default): a tenth of the shorter one keeps them near their value.
        connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeout / 10))),
      },
      (req, res) => void this.handle(req, res),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    return this.url;
  }

  /** `http://127.0.0.1:<port>`; the `notListening` error before {@link listen} or after {@link close}. */
  get url(): string {
    if (this.#port === undefined) throw this.#options.notListening();
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Stops accepting connections and resolves once the server is closed (see `closeConnections`). */
  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.#port = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if (this.#options.closeConnections === 'all') server.closeAllConnections();
      else server.closeIdleConnections();
    });
  }
}
