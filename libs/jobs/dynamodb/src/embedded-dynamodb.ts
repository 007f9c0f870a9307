import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, realpath } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { EmbeddedDynamoDbStartError } from './errors.js';

/** Where the embedded server keeps its data and where it listens. */
export interface EmbeddedDynamoDbOptions {
  /**
   * LevelDB directory (created if missing); the data survives restarts. Without it the data lives
   * in memory and is gone on close. One server per directory at a time.
   */
  dataDir?: string;
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** How long to wait for the server to listen. Default 15 000 ms. */
  startTimeoutMs?: number;
}

/** A running embedded server. */
export interface EmbeddedDynamoDb {
  /** `http://127.0.0.1:<port>`, for `createDocumentClient`. */
  endpoint: string;
  /** Stops the server and closes its store (flushing it to disk when it has a dataDir). Idempotent. */
  close(): Promise<void>;
}

/** Messages the server process sends over its IPC channel. */
type ServerMessage = { type: 'listening'; port: number } | { type: 'failed'; message: string; code?: string };

/*
 * The server runs dynalite in a child Node process rather than in the caller's, because dynalite
 * throws from inside its request and stream handlers (a LevelDB that failed to open, a client that
 * aborts mid-request): in-process, that uncaught exception would take the whole host down, while
 * here it ends only the child and the store reports StoreUnavailableError. It also keeps the
 * importer's module resolution out of dynalite's way (a runner that adds the `import` export
 * condition makes `require('big.js')` return an ES namespace inside dynalite, and every numeric
 * attribute is then rejected), and gives dynalite a core of its own.
 *
 * The script is inline (`node --input-type=module -e`) so it runs the same from src/ and dist/.
 * It probes the LevelDB directory with dynalite's own `level` before starting, to report a
 * directory in use as a clean failure instead of a crash on the first request, and it shuts down
 * gracefully when asked, on SIGTERM/SIGINT, or when its parent goes away (IPC disconnect).
 */
const SERVER_SCRIPT = `
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const { dynalitePath, dataDir, port } = JSON.parse(process.argv[1]);
const fail = (message, error) => {
  process.send({ type: 'failed', message: message + (error ? ': ' + (error.cause?.message ?? error.message) : ''), code: error?.cause?.code ?? error?.code });
  process.disconnect();
  process.exitCode = 1;
};
if (dataDir !== undefined) {
  const { Level } = createRequire(dynalitePath)('level');
  const probe = new Level(dataDir);
  try {
    await probe.open();
    await probe.close();
  } catch (error) {
    fail('cannot open LevelDB in ' + dataDir + ' (is another process using it?)', error);
  }
}
if (process.exitCode !== 1) {
  const { default: dynalite } = await import(pathToFileURL(dynalitePath).href);
  // Tables are usable at once: local mode gains nothing from DynamoDB's CREATING delay.
  const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    setTimeout(() => server.closeAllConnections(), 1000).unref();
    server.close((error) => process.exit(error ? 1 : 0));
    server.closeIdleConnections();
  };
  server.once('error', (error) => fail('cannot listen on 127.0.0.1:' + port, error));
  server.listen(port, '127.0.0.1', () => process.send({ type: 'listening', port: server.address().port }));
  process.on('message', (message) => { if (message?.type === 'close') shutdown(); });
  process.on('disconnect', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
`;

/** Keep this much of the server's stderr, to explain a failed start. */
const STDERR_TAIL_BYTES = 4_096;
/** After a close request, wait this long for a clean exit before killing the server. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Starts a DynamoDB-compatible server (dynalite: the DynamoDB JSON API on LevelDB) on 127.0.0.1,
 * in a child process, for the single-machine mode and for tests. It has tables, conditional
 * writes, Query, BatchGet/BatchWrite and GSIs, but no transactions, TTL, streams or PartiQL,
 * which is why the job store uses none of them.
 *
 * Throws EmbeddedDynamoDbStartError when the data directory is in use (by this or another
 * process) or not usable, or the port cannot be bound.
 */
export async function startEmbeddedDynamoDb(options: EmbeddedDynamoDbOptions = {}): Promise<EmbeddedDynamoDb> {
  const dataDir = options.dataDir === undefined ? undefined : await prepareDataDir(options.dataDir);
  const port = options.port ?? 0;
  const config = { dynalitePath: createRequire(import.meta.url).resolve('dynalite'), dataDir, port };
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER_SCRIPT, JSON.stringify(config)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
  });

  const listeningPort = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(new EmbeddedDynamoDbStartError(`embedded DynamoDB did not start within ${options.startTimeoutMs ?? 15_000} ms`));
    }, options.startTimeoutMs ?? 15_000);
    const settle = (outcome: number | Error): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
      if (typeof outcome === 'number') resolvePort(outcome);
      else reject(outcome);
    };
    const onMessage = (message: ServerMessage): void => {
      if (message.type === 'listening') settle(message.port);
      else settle(new EmbeddedDynamoDbStartError(`embedded DynamoDB did not start: ${message.message}`, { cause: { code: message.code, message: message.message } }));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      settle(new EmbeddedDynamoDbStartError(`embedded DynamoDB exited during start (${signal ?? `code ${code}`}): ${stderrTail.trim() || 'no output'}`));
    const onError = (error: Error): void => settle(new EmbeddedDynamoDbStartError('embedded DynamoDB could not be spawned', { cause: error }));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
  });

  // A host that forgets to close must still be able to exit; the server follows it on disconnect.
  unrefChild(child);
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${listeningPort}`,
    close: () => (closing ??= stopChild(child)),
  };
}

async function prepareDataDir(dir: string): Promise<string> {
  try {
    await mkdir(dir, { recursive: true });
    return await realpath(resolve(dir));
  } catch (error) {
    throw new EmbeddedDynamoDbStartError(`embedded DynamoDB data directory ${dir} is not usable`, { cause: error });
  }
}

function unrefChild(child: ChildProcess): void {
  child.unref();
  child.channel?.unref();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    // Waiting for the exit must keep the caller's process alive.
    child.ref();
    child.channel?.ref();
    const killer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(killer);
      resolveStop();
    });
    if (child.connected) child.send({ type: 'close' });
    else child.kill('SIGTERM');
  });
}
