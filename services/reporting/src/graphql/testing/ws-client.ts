import WebSocket from 'ws';

/*
 * A GraphQL-over-WebSocket client for the specs, speaking either protocol mercurius serves:
 * graphql-transport-ws (subscribe / next / complete) or the older graphql-ws (start / data /
 * complete). It records every message and waits for the one a test expects, with a deadline.
 */

export type Protocol = 'graphql-transport-ws' | 'graphql-ws';

export interface WsMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

export class GraphQLWsClient {
  readonly messages: WsMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private closed = false;

  private constructor(
    private readonly socket: WebSocket,
    readonly protocol: Protocol,
  ) {
    socket.on('message', (data: WebSocket.RawData) => {
      this.messages.push(JSON.parse(data.toString()) as WsMessage);
      for (const wake of this.waiters) wake();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const wake of this.waiters) wake();
    });
  }

  /** Opens a connection and sends `connection_init` with `payload`; resolves once acknowledged. */
  static async connect(httpUrl: string, payload: Record<string, unknown>, protocol: Protocol = 'graphql-transport-ws'): Promise<GraphQLWsClient> {
    const socket = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/graphql`, protocol);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const client = new GraphQLWsClient(socket, protocol);
    client.send({ type: 'connection_init', payload });
    await client.next((m) => m.type === 'connection_ack', 5_000);
    return client;
  }

  subscribe(id: string, query: string, variables: Record<string, unknown> = {}): void {
    this.send({ id, type: this.protocol === 'graphql-transport-ws' ? 'subscribe' : 'start', payload: { query, variables } });
  }

  /** The results of subscription `id` so far (`next` / `data` payloads). */
  results(id: string): unknown[] {
    const type = this.protocol === 'graphql-transport-ws' ? 'next' : 'data';
    return this.messages.filter((m) => m.id === id && m.type === type).map((m) => m.payload);
  }

  /** The first message (from `from` on) matching `predicate`, waiting at most `timeoutMs` for it. */
  async next(predicate: (m: WsMessage) => boolean, timeoutMs = 10_000, from = 0): Promise<WsMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(predicate);
      if (found) return found;
      if (this.closed) throw new Error(`the connection closed; messages: ${JSON.stringify(this.messages)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no expected message within ${timeoutMs} ms; messages: ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }

  private send(message: WsMessage): void {
    this.socket.send(JSON.stringify(message));
  }
}
