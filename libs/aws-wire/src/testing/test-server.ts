import { request, type Agent, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { LoopbackHttpServer, type LoopbackHttpServerOptions } from '../loopback-http-server.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** A {@link LoopbackHttpServer} whose requests go to a handler the test gives it. */
export class TestServer extends LoopbackHttpServer {
  constructor(
    private readonly handler: Handler,
    options: Partial<LoopbackHttpServerOptions> = {},
  ) {
    super({ notListening: () => new Error('test server is not listening'), ...options });
  }

  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.handler(req, res);
  }
}

const servers: TestServer[] = [];

/** A {@link TestServer} (not yet listening) that {@link closeServers} closes: call that in `afterEach`. */
export function aServer(handler: Handler, options: Partial<LoopbackHttpServerOptions> = {}): TestServer {
  const server = new TestServer(handler, options);
  servers.push(server);
  return server;
}

/** Serves `handler` on {@link aServer}; resolves with its URL. */
export function serve(handler: Handler): Promise<string> {
  return aServer(handler).listen();
}

export async function closeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.close()));
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request over a real connection; `body` chunks are written one by one (chunked unless a Content-Length is given). */
export function send(url: string, options: { method?: string; headers?: OutgoingHttpHeaders; body?: Array<string | Buffer>; agent?: Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'POST', headers: options.headers, ...(options.agent && { agent: options.agent }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const chunk of options.body ?? []) req.write(chunk);
    req.end();
  });
}

/** A promise with its resolve at hand: for waiting on an event without sleeping. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
