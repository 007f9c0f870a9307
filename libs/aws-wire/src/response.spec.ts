import { afterEach, describe, expect, it } from 'vitest';
import { sendAwsJson } from './response.js';
import { closeServers, send, serve } from './testing/test-server.js';

afterEach(closeServers);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('sendAwsJson', () => {
  it('sends the status and JSON body with the content type, length and a fresh request id', async () => {
    const url = await serve(async (_req, res) => sendAwsJson(res, 200, { Entries: ['é'] }, { contentType: 'application/x-amz-json-1.1' }));
    const answer = await send(url);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ Entries: ['é'] });
    expect(answer.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(answer.headers['content-length']).toBe(String(Buffer.byteLength(answer.body)));
    expect(answer.headers['x-amzn-requestid']).toMatch(UUID);
    expect(answer.headers['x-amzn-errortype']).toBeUndefined();
    expect((await send(url)).headers['x-amzn-requestid']).not.toBe(answer.headers['x-amzn-requestid']);
  });

  it('labels an error with x-amzn-errortype, the given request id and extra headers', async () => {
    const url = await serve(async (_req, res) =>
      sendAwsJson(
        res,
        400,
        { __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'no' },
        { contentType: 'application/x-amz-json-1.0', requestId: 'req-1', errorType: 'QueueDoesNotExist', headers: { 'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender' } },
      ),
    );
    const answer = await send(url);
    expect(answer).toMatchObject({ status: 400, body: '{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no"}' });
    expect(answer.headers).toMatchObject({
      'x-amzn-requestid': 'req-1',
      'x-amzn-errortype': 'QueueDoesNotExist',
      'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender',
    });
  });

  it('does nothing once the response has begun', async () => {
    const url = await serve(async (_req, res) => {
      res.writeHead(202, { 'content-type': 'text/plain' });
      sendAwsJson(res, 500, { message: 'late' }, { contentType: 'application/json' });
      res.end('first answer');
    });
    await expect(send(url)).resolves.toMatchObject({ status: 202, body: 'first answer' });
  });

  it('throws before writing anything when the body is not JSON-serializable', async () => {
    const url = await serve(async (_req, res) => {
      try {
        sendAwsJson(res, 200, { n: 1n }, { contentType: 'application/json' });
      } catch (e) {
        sendAwsJson(res, 500, { message: (e as Error).name }, { contentType: 'application/json', errorType: 'InternalFailure' });
      }
    });
    await expect(send(url)).resolves.toMatchObject({ status: 500, body: '{"message":"TypeError"}' });
  });
});
