import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** How {@link sendAwsJson} labels a response. */
export interface AwsJsonResponseOptions {
  /** The protocol's media type: `application/x-amz-json-1.0` or `-1.1`, `application/json` for REST-JSON. */
  contentType: string;
  /** `x-amzn-requestid`; default a fresh UUID (one response per request, so one id per request). */
  requestId?: string;
  /** `x-amzn-errortype`, from which AWS SDKs pick the exception class of an error response. */
  errorType?: string;
  /** Any other header the protocol wants (SQS's `x-amzn-query-error`). */
  headers?: OutgoingHttpHeaders;
}

/**
 * Sends `body` as JSON with an AWS service's headers. Does nothing when the response has already
 * begun or its connection is gone: there is no one left to answer.
 *
 * @throws what `JSON.stringify` throws for `body`, or `writeHead` for an invalid header, before
 *   anything is written.
 */
export function sendAwsJson(res: ServerResponse, status: number, body: unknown, options: AwsJsonResponseOptions): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': options.contentType,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': options.requestId ?? randomUUID(),
    ...(options.errorType !== undefined && { 'x-amzn-errortype': options.errorType }),
    ...options.headers,
  });
  res.end(payload);
}
