import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestAbortedError, RequestBodyTooLargeError } from './errors.js';
import { header, readBody } from './request.js';
import { closeServers, deferred, send, serve, type Handler } from './testing/test-server.js';

afterEach(closeServers);

/** Answers with the body read (limit `limit`), or 413 and the limit when it is too large. */
function echoBody(limit: number): Handler {
  return async (req, res) => {
    try {
      const body = await readBody(req, limit);
      res.end(body);
    } catch (e) {
      if (!(e instanceof RequestBodyTooLargeError)) throw e;
      res.writeHead(413);
      res.end(`${e.limit} ${e.message}`);
    }
  };
}

describe('readBody', () => {
  it('reads a body sent in chunks, up to the limit exactly', async () => {
    const url = await serve(echoBody(10));
    await expect(send(url, { body: ['01234', '56789'] })).resolves.toMatchObject({ status: 200, body: '0123456789' });
    await expect(send(url)).resolves.toMatchObject({ status: 200, body: '' });
  });

  it('refuses a Content-Length over the limit, and the answer reaches the client', async () => {
    const url = await serve(echoBody(4));
    const answer = await send(url, { headers: { 'content-length': 10 }, body: ['0123456789'] });
    expect(answer).toMatchObject({ status: 413, body: '4 Request body exceeds 4 bytes' });
  });

  it('reads a body that grows past the limit to its end, then refuses it with the answer intact', async () => {
    const url = await serve(echoBody(100 * 1024));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const answer = await send(url, { body: [chunk, chunk, chunk, chunk] });
    expect(answer).toMatchObject({ status: 413, body: '102400 Request body exceeds 102400 bytes' });
  });

  it('rejects with RequestAbortedError when the client goes away mid-body', async () => {
    const outcome = deferred<unknown>();
    const url = await serve(async (req) => {
      await readBody(req, 1024).then(outcome.resolve, outcome.resolve);
    });
    const client = request(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } });
    client.on('error', () => {});
    client.write('part of a body', () => client.destroy());
    const error = await outcome.promise;
    expect(error).toBeInstanceOf(RequestAbortedError);
    expect(error).toMatchObject({ retryable: true });
  });
});

describe('header', () => {
  it('reads a header by name, in any case; undefined when absent', async () => {
    const seen = deferred<Array<string | undefined>>();
    const url = await serve(async (req, res) => {
      seen.resolve([header(req, 'x-amz-target'), header(req, 'X-Amz-Target'), header(req, 'x-absent')]);
      res.end();
    });
    await send(url, { headers: { 'X-Amz-Target': 'AmazonSQS.ListQueues' } });
    await expect(seen.promise).resolves.toEqual(['AmazonSQS.ListQueues', 'AmazonSQS.ListQueues', undefined]);
  });
});
