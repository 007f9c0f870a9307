import type { IncomingMessage } from 'node:http';
import { RequestAbortedError, RequestBodyTooLargeError } from './errors.js';

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
 * @throws RequestBodyTooLargeError over `limit`.
 * @throws RequestAbortedError when the connection ends or fails before the body is complete.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(header(req, 'content-length') ?? 0) > limit) return Promise.reject(new RequestBodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => (size > limit ? reject(new RequestBodyTooLargeError(limit)) : resolve(Buffer.concat(chunks))));
    req.on('error', (cause) => reject(new RequestAbortedError({ cause })));
    req.on('close', () => {
      if (!req.complete) reject(new RequestAbortedError());
    });
  });
}
