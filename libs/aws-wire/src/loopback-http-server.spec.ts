import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
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
