import { mkdir, realpath } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import dynalite from 'dynalite';
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
}

/** A running embedded server. */
export interface EmbeddedDynamoDb {
  /** `http://127.0.0.1:<port>`, for `createDocumentClient`. */
  endpoint: string;
  /** Stops listening and closes the store (flushing it to disk when it has a dataDir). Idempotent. */
  close(): Promise<void>;
}

/** Data directories with a server in this process: LevelDB allows one opener per directory. */
const openDataDirs = new Set<string>();

/** After this long, connections still open at close (keep-alive sockets of live clients) are cut. */
const CLOSE_GRACE_MS = 1_000;

/**
 * Starts a DynamoDB-compatible server (dynalite: the DynamoDB JSON API on LevelDB) on 127.0.0.1,
 * for the single-machine mode and for tests. It has tables, conditional writes, Query, BatchGet
 * and BatchWrite, and GSIs, but no transactions, TTL, streams or PartiQL, which is why the job
 * store uses none of them.
 *
 * Throws EmbeddedDynamoDbStartError when the data directory is already in use (by this process or
 * another) or cannot be opened, or the port cannot be bound.
 */
export async function startEmbeddedDynamoDb(options: EmbeddedDynamoDbOptions = {}): Promise<EmbeddedDynamoDb> {
  const dataDir = options.dataDir === undefined ? undefined : await claimDataDir(options.dataDir);
  try {
    // Tables are usable at once: local mode gains nothing from DynamoDB's CREATING delay.
    const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    try {
      await listen(server, options.port ?? 0);
    } catch (error) {
      // dynalite closes its store only through a listening server's close(), so bind anywhere and close.
      await listen(server, 0).then(() => closeServer(server)).catch(() => undefined);
      throw new EmbeddedDynamoDbStartError(`embedded DynamoDB could not listen on 127.0.0.1:${options.port ?? 0}`, { cause: error });
    }
    const { port } = server.address() as AddressInfo;
    let closing: Promise<void> | undefined;
    return {
      endpoint: `http://127.0.0.1:${port}`,
      close: () =>
        (closing ??= closeServer(server).finally(() => {
          if (dataDir !== undefined) openDataDirs.delete(dataDir);
        })),
    };
  } catch (error) {
    if (dataDir !== undefined) openDataDirs.delete(dataDir);
    throw error;
  }
}

/**
 * Makes sure the directory exists and nobody holds its LevelDB. dynalite opens LevelDB lazily and
 * throws an uncaught exception from a request handler when that fails, which would take the whole
 * process down; so this opens the directory once with dynalite's own LevelDB first and reports a
 * failure as an error instead.
 */
async function claimDataDir(dir: string): Promise<string> {
  let path: string;
  try {
    await mkdir(dir, { recursive: true });
    path = await realpath(resolve(dir));
  } catch (error) {
    throw new EmbeddedDynamoDbStartError(`embedded DynamoDB data directory ${dir} is not usable`, { cause: error });
  }
  if (openDataDirs.has(path)) throw new EmbeddedDynamoDbStartError(`embedded DynamoDB data directory ${path} is already in use in this process`);
  openDataDirs.add(path);
  try {
    const probe = new (dynalitesLevel())(path);
    await probe.open();
    await probe.close();
  } catch (error) {
    openDataDirs.delete(path);
    throw new EmbeddedDynamoDbStartError(`embedded DynamoDB data directory ${path} cannot be opened (is another process using it?)`, { cause: error });
  }
  return path;
}

interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
}

/** The `level` package dynalite itself resolves, so the probe opens the directory exactly as dynalite will. */
function dynalitesLevel(): new (location: string) => LevelDb {
  const require = createRequire(import.meta.url);
  const fromDynalite = createRequire(require.resolve('dynalite'));
  return (fromDynalite('level') as { Level: new (location: string) => LevelDb }).Level;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolvePromise();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const cutoff = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    cutoff.unref();
    server.close((error) => {
      clearTimeout(cutoff);
      if (error) reject(error);
      else resolvePromise();
    });
    server.closeIdleConnections();
  });
}
