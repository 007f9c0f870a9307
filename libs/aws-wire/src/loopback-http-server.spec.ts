import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestTimeoutError } from './errors.js';
import { readBody } from './request.js';
import { aServer, closeServers, deferred, send } from './testing/test-server.js';

const agents: Agent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await closeServers();
});

const ok = async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
  res.end('ok');
};

describe('LoopbackHttpServer', () => {
  it('listens on a free port of 127.0.0.1 and answers every request with handle', async () => {
    const server = aServer(ok);
    const url = await server.listen();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).toBe(url);
    expect(server.listening).toBe(true);
    await expect(send(url)).resolves.toMatchObject({ status: 200, body: 'ok' });
  });

  it("throws the endpoint's own error from url before listen and after close, and serves again after close", async () => {
    const server = aServer(ok, { notListening: () => new RangeError('endpoint is not listening') });
    expect(() => server.url).toThrow(RangeError);
    const first = await server.listen();
    await expect(server.listen()).resolves.toBe(first);
    await server.close();
    expect(server.listening).toBe(false);
    expect(() => server.url).toThrow('endpoint is not listening');
    await server.close();
    const second = await server.listen();
    await expect(send(second)).resolves.toMatchObject({ status: 200 });
  });

  it('rejects listen when the port is taken, and stays closed', async () => {
    const taken = aServer(ok);
    const port = Number(new URL(await taken.listen()).port);
    const server = aServer(ok, { port });
    await expect(server.listen()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(server.listening).toBe(false);
  });

  // Under the server's 5 s keep-alive timeout: close() must not wait for an idle keep-alive connection.
  it('close closes idle keep-alive connections at once', { timeout: 3_000 }, async () => {
    const server = aServer(ok);
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);
    await expect(send(await server.listen(), { agent })).resolves.toMatchObject({ status: 200 });
    await server.close();
  });

  it('close lets a request in flight finish', async () => {
    const started = deferred();
    const gate = deferred();
    const server = aServer(async (_req, res) => {
      started.resolve();
      await gate.promise;
      res.end('done');
    });
    const slow = send(await server.listen(), { headers: { connection: 'close' } });
    await started.promise;
    const closing = server.close();
    expect(server.listening).toBe(false);
    gate.resolve();
    await expect(slow).resolves.toMatchObject({ status: 200, body: 'done' });
    await closing;
  });

  it("closeConnections 'all' drops a request in flight", async () => {
    const started = deferred();
    const gate = deferred();
    const server = aServer(
      async (_req, res) => {
        started.resolve();
        await gate.promise;
        res.end('too late');
      },
      { closeConnections: 'all' },
    );
    const answer = send(await server.listen());
    await started.promise;
    await server.close();
    await expect(answer).rejects.toMatchObject({ code: 'ECONNRESET' });
    gate.resolve();
  });
});

/**
 * Opens a raw connection, writes `head` and stops (never finishing the request); resolves with what
 * the server answered and how long it took it to answer and close the connection.
 */
function stallAfter(url: string, head: string): Promise<{ answer: string; ms: number }> {
  const { port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(head));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    socket.on('close', () => resolve({ answer, ms: Date.now() - started }));
  });
}

const HALF_A_BODY = 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Entries":';

describe('LoopbackHttpServer timeouts', () => {
  it('answers 408 and closes a connection whose headers stall past headersTimeoutMs', async () => {
    const server = aServer(ok, { headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const { answer, ms } = await stallAfter(await server.listen(), 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeLessThan(2_000);
  });

  it('answers 408 and closes a connection whose body stalls past requestTimeoutMs', async () => {
    const reading = deferred<unknown>();
    const server = aServer(
      async (req, res) => {
        // Waits longer than the server does: the server's own request timeout ends it.
        await readBody(req, 1_000, { idleTimeoutMs: 60_000 }).then(reading.resolve, reading.resolve);
        res.end('late');
      },
      { headersTimeoutMs: 200, requestTimeoutMs: 400 },
    );
    const { answer, ms } = await stallAfter(await server.listen(), HALF_A_BODY);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeLessThan(2_000);
    expect(await reading.promise).toMatchObject({ name: 'RequestAbortedError' });
  });

  it("readBody gives up on a body that stalls for idleTimeoutMs: RequestTimeoutError and the connection closed", async () => {
    const failure = deferred<unknown>();
    const server = aServer(async (req, res) => {
      try {
        res.end(await readBody(req, 1_000, { idleTimeoutMs: 200 }));
      } catch (e) {
        failure.resolve(e);
        res.writeHead(400).end();
      }
    });
    const { ms } = await stallAfter(await server.listen(), HALF_A_BODY);
    expect(ms).toBeLessThan(2_000);
    const e = await failure.promise;
    expect(e).toBeInstanceOf(RequestTimeoutError);
    expect(e).toMatchObject({ retryable: true, idleTimeoutMs: 200 });
  });

  it('defaults to bounded timeouts (10 s for headers, 30 s for the whole request) and refuses inconsistent ones', () => {
    expect(() => aServer(ok, { headersTimeoutMs: 500, requestTimeoutMs: 100 })).toThrow(RangeError);
    expect(() => aServer(ok, { headersTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => aServer(ok)).not.toThrow();
  });
});
