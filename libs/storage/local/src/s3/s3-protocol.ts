import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/*
 * S3's REST-XML wire format as far as the endpoint speaks it: error documents, XML escaping, and
 * the little XML reading the request bodies of CompleteMultipartUpload and DeleteObjects need.
 */

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/**
 * A request S3 would refuse, with the code, status and extra fields of its `<Error>` document.
 * Internal to the endpoint: it becomes a response, never reaches a caller of the lib.
 */
export class S3ProtocolError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly fields: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'S3ProtocolError';
  }
}

/** The refusals the endpoint answers, with S3's codes, statuses and wording. */
export const s3Errors = {
  noSuchKey: (key: string) => new S3ProtocolError('NoSuchKey', 404, 'The specified key does not exist.', { Key: key }),
  noSuchBucket: (bucket: string) => new S3ProtocolError('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket }),
  noSuchUpload: (uploadId: string) =>
    new S3ProtocolError('NoSuchUpload', 404, 'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {
      UploadId: uploadId,
    }),
  invalidArgument: (message: string, name?: string, value?: string) =>
    new S3ProtocolError('InvalidArgument', 400, message, { ...(name ? { ArgumentName: name } : {}), ...(value !== undefined ? { ArgumentValue: value } : {}) }),
  invalidUri: () => new S3ProtocolError('InvalidURI', 400, "Couldn't parse the specified URI."),
  invalidRequest: (message: string) => new S3ProtocolError('InvalidRequest', 400, message),
  invalidPart: (message: string) => new S3ProtocolError('InvalidPart', 400, message),
  invalidPartOrder: () => new S3ProtocolError('InvalidPartOrder', 400, 'The list of parts was not in ascending order. Parts must be ordered by part number.'),
  entityTooSmall: () => new S3ProtocolError('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed object size.'),
  badDigest: (what: string) => new S3ProtocolError('BadDigest', 400, `The ${what} you specified did not match the calculated checksum.`),
  invalidDigest: (what: string) => new S3ProtocolError('InvalidDigest', 400, `The ${what} you specified was invalid.`),
  contentSha256Mismatch: (client: string, computed: string) =>
    new S3ProtocolError('XAmzContentSHA256Mismatch', 400, "The provided 'x-amz-content-sha256' header does not match what was computed.", {
      ClientComputedContentSHA256: client,
      S3ComputedContentSHA256: computed,
    }),
  incompleteBody: (message = 'You did not provide the number of bytes specified by the Content-Length HTTP header.') =>
    new S3ProtocolError('IncompleteBody', 400, message),
  malformedXml: () => new S3ProtocolError('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.'),
  invalidRange: (range: string, size: number) =>
    new S3ProtocolError('InvalidRange', 416, 'The requested range is not satisfiable', { RangeRequested: range, ActualObjectSize: String(size) }),
  preconditionFailed: (condition: string) => new S3ProtocolError('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', { Condition: condition }),
  notModified: () => new S3ProtocolError('NotModified', 304, 'Not Modified'),
  methodNotAllowed: (method: string, resource: 'SERVICE' | 'BUCKET' | 'OBJECT') =>
    new S3ProtocolError('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.', { Method: method, ResourceType: resource }),
  accessDenied: (message: string) => new S3ProtocolError('AccessDenied', 403, message),
  notImplemented: (what: string) => new S3ProtocolError('NotImplemented', 501, `${what} is not implemented by this endpoint.`),
  internal: () => new S3ProtocolError('InternalError', 500, 'We encountered an internal error. Please try again.'),
};

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']|[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#x${c.charCodeAt(0).toString(16)};`;
    }
  });
}

/** `<Name>escaped value</Name>` for each defined field. */
export function xmlFields(fields: Readonly<Record<string, string | number | boolean | undefined>>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`)
    .join('');
}

/** A complete XML document with S3's declaration. */
export function xmlDocument(root: string, inner: string, namespaced = true): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${namespaced ? ` xmlns="${S3_XMLNS}"` : ''}>${inner}</${root}>`;
}

export function sendXml(res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders = {}): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'content-type': 'application/xml', 'content-length': bytes.byteLength });
  res.end(bytes);
}

/** Answers `error` as S3 does: its XML document, or only the status for HEAD (which has no body). */
export function sendError(req: IncomingMessage, res: ServerResponse, error: S3ProtocolError, requestId: string): void {
  const headers = { 'x-amz-request-id': requestId };
  if (req.method === 'HEAD' || error.status === 304) {
    res.writeHead(error.status, headers);
    res.end();
    return;
  }
  const resource = (req.url ?? '/').split('?', 1)[0];
  sendXml(res, error.status, xmlDocument('Error', xmlFields({ Code: error.code, Message: error.message, ...error.fields, Resource: resource, RequestId: requestId }), false), headers);
}

/** The inner text of every `<tag>` element (not nested in one another), in order. */
export function xmlElements(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1]!);
}

/** The decoded text of the first `<tag>` element, or undefined. */
export function xmlText(xml: string, tag: string): string | undefined {
  const inner = xmlElements(xml, tag)[0];
  return inner === undefined ? undefined : unescapeXml(inner);
}

export function unescapeXml(s: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) =>
    e.startsWith('#') ? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : named[e]!,
  );
}
