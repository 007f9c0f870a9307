import type { IncomingMessage } from 'node:http';
import { RequestAbortedError, RequestBodyTooLargeError, RequestTimeoutError } from './errors.js';

/** How long {@link readBody} waits for the next chunk of a body by default. */
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 10_000;

/** Options of {@link readBody}. */
export interface ReadBodyOptions {
  /** How long the body may stall (no data) before the request is dropped. Default {@link DEFAULT_BODY_IDLE_TIMEOUT_MS}. */
  idleTimeoutMs?: number;
}

/** A request header's value; the first, when the client sent it more than once. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Reads the whole request body, at most `limit` bytes of it.
 *
 * A `Content-Length` over `limit` is refused at once. A body that grows past `limit` is read to its
 * end and dropped, so that the endpoint's error response reaches the client intact (rather than a
 * reset connection), and then refused.
 *
 * A body that stalls (no data for `idleTimeoutMs`) is not waited for: the connection is closed, so
 * a client that stopped mid-body holds nothing open, and this rejects.
 *
 * @throws RequestBodyTooLargeError over `limit`.
 * @throws RequestTimeoutError when the body stalls (the connection is closed; no answer can reach the client).
 * @throws RequestAbortedError when the connection ends or fails before the body is complete.
 */
export function readBody(req: IncomingMessage, limit: number, options: ReadBodyOptions = {}): Promise<Buffer> {
  if (Number(header(req, 'content-length') ?? 0) > limit) return Promise.reject(new RequestBodyTooLargeError(limit));
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const settle = (done: () => void) => {
      clearTimeout(timer);
      done();
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        settle(() => reject(new RequestTimeoutError(idleTimeoutMs)));
        req.destroy();
      }, idleTimeoutMs);
    };
    arm();
    req.on('data', (chunk: Buffer) => {
      arm();
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => settle(() => (size > limit ? reject(new RequestBodyTooLargeError(limit)) : resolve(Buffer.concat(chunks)))));
    req.on('error', (cause) => settle(() => reject(new RequestAbortedError({ cause }))));
    req.on('close', () => {
      if (!req.complete) settle(() => reject(new RequestAbortedError()));
    });
  });
}
