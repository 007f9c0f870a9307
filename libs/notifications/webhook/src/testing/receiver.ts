import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a {@link WebhookReceiver} got. */
export interface ReceivedRequest {
  method: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as a receiver must verify it. */
  body: string;
  /** Order of arrival, from 1. */
  seq: number;
}

/** What the receiver answers a request: a status, optional headers and body. */
export type Answer = { status: number; headers?: Record<string, string>; body?: string };

/**
 * A real HTTP endpoint on loopback for webhook tests: records every request and answers each with
 * `answer(request)` (by default 200). Test-only.
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly answers: { next: (r: ReceivedRequest) => Answer },
  ) {}

  static async start(answer: (request: ReceivedRequest) => Answer = () => ({ status: 200 })): Promise<WebhookReceiver> {
    const answers = { next: answer };
    const requests: ReceivedRequest[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request: ReceivedRequest = { method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), seq: requests.length + 1 };
        requests.push(request);
        const a = answers.next(request);
        res.writeHead(a.status, { 'content-type': 'text/plain', ...(a.headers ?? {}) });
        res.end(a.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const receiver = new WebhookReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/nightshift`, answers);
    // The same array the handler fills.
    (receiver as { requests: ReceivedRequest[] }).requests = requests;
    return receiver;
  }

  /** Changes what later requests are answered. */
  answerWith(answer: (request: ReceivedRequest) => Answer): void {
    this.answers.next = answer;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Observes until `until` holds, or fails naming `what` (no fixed sleeps; a busy machine is slow, not wrong). */
export async function eventually<T>(observe: () => T | Promise<T>, until: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await observe();
    if (until(value)) return value;
    last = value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last observed: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
