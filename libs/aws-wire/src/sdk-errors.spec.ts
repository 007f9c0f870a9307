import { request, type RequestOptions } from 'node:http';
import type { LookupFunction } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { awsErrorMessage, classifyAwsError } from './sdk-errors.js';
import { aServer, closeServers } from './testing/test-server.js';

afterEach(closeServers);

/**
 * A service error as the AWS SDK (v3) throws it: an Error named after AWS's error code, with the
 * fault side, the HTTP status and, where the SDK's model says so, `$retryable`. (This lib may not
 * import the SDK, so the shape is built here.)
 */
function serviceError(name: string, status: number, more: { $fault?: 'client' | 'server'; $retryable?: { throttling?: boolean } } = {}): Error {
  const $fault = more.$fault ?? (status >= 500 ? 'server' : 'client');
  return Object.assign(new Error(`${name} from AWS`), { name, $fault, $metadata: { httpStatusCode: status, attempts: 3 }, ...more });
}

/** The error of one real HTTP request that gets no answer. */
function failedRequest(options: RequestOptions): Promise<unknown> {
  return new Promise((resolve) => {
    const req = request({ method: 'POST', ...options }, () => resolve(new Error('the request was answered')));
    req.on('error', resolve);
    req.end();
  });
}

/** A loopback port nothing listens on any more. */
async function closedPort(): Promise<number> {
  const server = aServer(async () => {});
  const port = Number(new URL(await server.listen()).port);
  await server.close();
  return port;
}

/**
 * A request to a host name with two loopback addresses, neither listening on `port`: Node (20 and
 * later select the address family by default) tries each and fails with an AggregateError of both.
 */
function failedConnectToTwoAddresses(port: number): Promise<unknown> {
  const lookup = ((_host, _options, callback) => {
    callback(null, [{ address: '127.0.0.1', family: 4 }, { address: '127.0.0.2', family: 4 }]);
  }) as LookupFunction;
  return failedRequest({ host: 'nightshift.test', port, lookup });
}

describe('classifyAwsError', () => {
  it('throttling, whatever a service calls it, is transient', () => {
    expect(classifyAwsError(serviceError('ThrottlingException', 400))).toBe('transient');
    expect(classifyAwsError(serviceError('Throttling', 400))).toBe('transient');
    expect(classifyAwsError(serviceError('TooManyRequestsException', 429))).toBe('transient');
    expect(classifyAwsError(serviceError('RequestLimitExceeded', 400))).toBe('transient');
    expect(classifyAwsError(serviceError('SlowDown', 503))).toBe('transient');
    expect(classifyAwsError(serviceError('ProvisionedThroughputExceededException', 400, { $retryable: { throttling: true } }))).toBe('transient');
    // Other services' spellings of the same condition.
    expect(classifyAwsError(serviceError('RequestThrottled', 400))).toBe('transient');
    expect(classifyAwsError(serviceError('KmsThrottled', 400))).toBe('transient');
  });

  it("a fault on AWS's side is transient: by code, by $fault, by a 5xx", () => {
    for (const name of ['ServiceUnavailable', 'ServiceUnavailableException', 'InternalFailure', 'InternalError', 'InternalServerError', 'InternalServerException', 'ServerException']) {
      expect(classifyAwsError(serviceError(name, 500)), name).toBe('transient');
    }
    expect(classifyAwsError({ name: 'ServerException', $metadata: {} }), 'the code alone').toBe('transient');
    expect(classifyAwsError({ name: 'SomethingNew', $fault: 'server', $metadata: {} }), '$fault alone').toBe('transient');
    expect(classifyAwsError({ name: 'Unknown', $metadata: { httpStatusCode: 502 } }), 'the status alone').toBe('transient');
    expect(classifyAwsError({ name: 'Unknown', $metadata: { httpStatusCode: 429 } }), 'a 429 alone').toBe('transient');
  });

  it('a request the SDK marked retryable is transient, whatever its fault', () => {
    expect(classifyAwsError(serviceError('SomeLimitException', 400, { $retryable: {} }))).toBe('transient');
  });

  it('no answer in time is transient', () => {
    for (const name of ['RequestTimeout', 'RequestTimeoutException']) expect(classifyAwsError(serviceError(name, 400)), name).toBe('transient');
    expect(classifyAwsError(Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError', $metadata: {} }))).toBe('transient');
    expect(classifyAwsError(Object.assign(new Error('Request aborted'), { name: 'AbortError', $metadata: {} }))).toBe('transient');
  });

  it('a refused connection is transient (a real request to a closed loopback port)', async () => {
    const error = await failedRequest({ host: '127.0.0.1', port: await closedPort() });
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(classifyAwsError(error)).toBe('transient');
  });

  it('a connection dropped before the answer is transient (a real one)', async () => {
    const server = aServer(async (req) => void req.socket.destroy());
    const error = await failedRequest({ host: '127.0.0.1', port: Number(new URL(await server.listen()).port) });
    expect(error).toMatchObject({ code: 'ECONNRESET' });
    expect(classifyAwsError(error)).toBe('transient');
  });

  it('a connect that tried several addresses fails with an AggregateError, which is transient (a real one)', async () => {
    const error = await failedConnectToTwoAddresses(await closedPort());
    expect(error).toBeInstanceOf(AggregateError);
    expect(classifyAwsError(error)).toBe('transient');
    // By its inner errors alone, as an AggregateError without a code of its own.
    expect(classifyAwsError(new AggregateError((error as AggregateError).errors))).toBe('transient');
  });

  it('other Node network failures are transient', () => {
    for (const code of ['ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ERR_STREAM_PREMATURE_CLOSE']) {
      expect(classifyAwsError(Object.assign(new Error(code), { code })), code).toBe('transient');
    }
  });

  it('a request AWS refused as such is client: $fault client or a 4xx', () => {
    expect(classifyAwsError(serviceError('ClientException', 400))).toBe('client');
    expect(classifyAwsError(serviceError('ValidationException', 400))).toBe('client');
    expect(classifyAwsError(serviceError('AccessDeniedException', 403))).toBe('client');
    expect(classifyAwsError(serviceError('NoSuchKey', 404))).toBe('client');
    expect(classifyAwsError({ name: 'QueueDoesNotExist', $fault: 'client', $metadata: {} })).toBe('client');
    expect(classifyAwsError({ name: 'Unknown', $metadata: { httpStatusCode: 409 } })).toBe('client');
  });

  it('anything else is unknown', () => {
    expect(classifyAwsError(new Error('boom'))).toBe('unknown');
    expect(classifyAwsError(new TypeError('x is not a function'))).toBe('unknown');
    expect(classifyAwsError(new AggregateError([new Error('a'), serviceError('ValidationException', 400)]))).toBe('unknown');
    expect(classifyAwsError({ name: 'Unknown', $metadata: { httpStatusCode: 301 } })).toBe('unknown');
    for (const value of [undefined, null, 'ThrottlingException', 503]) expect(classifyAwsError(value), String(value)).toBe('unknown');
  });

  it('does not loop on an AggregateError that contains itself', () => {
    const error = new AggregateError([]);
    (error.errors as unknown[]).push(error);
    expect(classifyAwsError(error)).toBe('unknown');
  });
});

describe('awsErrorMessage', () => {
  it("is AWS's code and words", () => {
    expect(awsErrorMessage(serviceError('ThrottlingException', 400))).toBe('ThrottlingException: ThrottlingException from AWS');
    expect(awsErrorMessage({ name: 'QueueDoesNotExist', message: 'The specified queue does not exist.' })).toBe('QueueDoesNotExist: The specified queue does not exist.');
  });

  it('is the name alone when there is no other message', () => {
    expect(awsErrorMessage(Object.assign(new Error(''), { name: 'NotFound' }))).toBe('NotFound');
    expect(awsErrorMessage(Object.assign(new Error('NotFound'), { name: 'NotFound' }))).toBe('NotFound');
  });

  it("is an AggregateError's inner messages when it has none (a real one)", async () => {
    const port = await closedPort();
    const error = await failedConnectToTwoAddresses(port);
    expect(awsErrorMessage(error)).toBe(`AggregateError: connect ECONNREFUSED 127.0.0.1:${port}; connect ECONNREFUSED 127.0.0.2:${port}`);
  });

  it('is the value itself for what is not an error', () => {
    expect(awsErrorMessage('boom')).toBe('boom');
    expect(awsErrorMessage(undefined)).toBe('undefined');
    expect(awsErrorMessage({ message: 'no name' })).toBe('no name');
  });
});
