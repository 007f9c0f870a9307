import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { asPortUnavailable, checkPortsFree, PortUnavailableError, type HostPort } from './ports.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(port = 0): Promise<Server> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

const portOf = (s: Server) => (s.address() as AddressInfo).port;
const api = (port: number): HostPort => ({ port, host: '127.0.0.1', what: 'the REST API', variable: 'NIGHTSHIFT_API_PORT' });

describe('checkPortsFree', () => {
  it('passes free ports and 0, and leaves them free', async () => {
    const free = portOf(await listen());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    await checkPortsFree([api(free), api(0)]);
    expect(portOf(await listen(free))).toBe(free);
  });

  it('names a busy port, what needs it and the variable that moves it', async () => {
    const busy = portOf(await listen());
    const refused = await checkPortsFree([api(busy)]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PortUnavailableError);
    expect((refused as Error).message).toBe(
      `port ${busy} on 127.0.0.1 (the REST API) is already in use by another process: stop it, or set NIGHTSHIFT_API_PORT to a free port (0 picks one)`,
    );
  });
});

describe('asPortUnavailable', () => {
  it("recognises a listen refused on one of the host's ports, also as the cause of another error", async () => {
    const busy = portOf(await listen());
    const listenError = await listen(busy).catch((e: unknown) => e);
    expect(asPortUnavailable(listenError, [api(busy)])?.message).toContain(`port ${busy} on 127.0.0.1 (the REST API) is already in use`);
    expect(asPortUnavailable(new Error('reporting did not start', { cause: listenError }), [api(busy)])).toBeInstanceOf(PortUnavailableError);
    // Another port's, or another failure: not the host's to explain.
    expect(asPortUnavailable(listenError, [api(busy + 1)])).toBeUndefined();
    expect(asPortUnavailable(new Error('disk full'), [api(busy)])).toBeUndefined();
  });
});
