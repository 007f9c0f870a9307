import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { AccessKey } from './access-keys.js';

const callers = new WeakMap<IncomingMessage, AccessKey>();

/** Records which key a request was verified as (the gateway, after SigV4), for the endpoint's own authorization. */
export function setCaller(req: IncomingMessage, key: AccessKey): void {
  callers.set(req, key);
}

/** The key a request was verified as; undefined when nothing verified it (an endpoint served on its own). */
export function callerOf(req: IncomingMessage): AccessKey | undefined {
  return callers.get(req);
}

/**
 * A request whose body was already read (to hash it for SigV4), to hand to an endpoint handler
 * as if it came off the wire: same method, URL and headers, and the body again, complete.
 */
export function replayRequest(req: IncomingMessage, body: Buffer): IncomingMessage {
  return new ReplayedRequest(req, body) as unknown as IncomingMessage;
}

class ReplayedRequest extends Readable {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: string[];
  readonly httpVersion: string;
  readonly socket: IncomingMessage['socket'];
  readonly complete = true;

  constructor(original: IncomingMessage, body: Buffer) {
    super();
    this.method = original.method;
    this.url = original.url;
    this.headers = original.headers;
    this.rawHeaders = original.rawHeaders;
    this.httpVersion = original.httpVersion;
    this.socket = original.socket;
    if (body.length > 0) this.push(body);
    this.push(null);
  }

  override _read(): void {}
}
