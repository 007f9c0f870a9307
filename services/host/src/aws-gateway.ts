import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { header, LoopbackHttpServer } from '@nightshift/aws-wire';

/** One AWS API served by the embedded platform: answers a request, never rejects. */
export interface AwsApiHandler {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** The AWS APIs behind the gateway. */
export interface AwsApis {
  /** EventBridge PutEvents (`X-Amz-Target: AWSEvents.*`). */
  events: AwsApiHandler;
  /** SQS, AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.*`). */
  sqs: AwsApiHandler;
  /** CloudWatch Logs (`X-Amz-Target: Logs_20140328.*`). */
  logs: AwsApiHandler;
  /** AWS Batch, REST-JSON (`POST /v1/...`). */
  batch: AwsApiHandler;
  /** S3, path-style REST-XML: every other request. */
  s3: AwsApiHandler;
  /** The embedded DynamoDB-compatible server (`X-Amz-Target: DynamoDB_20120810.*` is forwarded to it). */
  dynamoEndpoint: string;
}

/** Where the gateway listens. */
export interface AwsGatewayOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
}

/**
 * Every AWS API nightshift uses, on one loopback port, so that `AWS_ENDPOINT_URL=<url>` alone
 * points an unmodified AWS SDK (or the AWS CLI with `--endpoint-url`) at the embedded platform.
 * Routing follows the wire protocols: JSON protocols name their operation in `X-Amz-Target`,
 * Batch's REST-JSON paths start with `/v1/`, and S3 (path-style) takes the rest, so a bucket
 * named `v1` is the one name S3 cannot use here. Signatures are not checked: loopback only.
 */
export class AwsGateway extends LoopbackHttpServer {
  private apis: AwsApis | undefined;

  constructor(options: AwsGatewayOptions) {
    super({ port: options.port, notListening: () => new Error('the AWS gateway is not listening') });
  }

  /**
   * Starts answering with these APIs. Separate from {@link listen} because some APIs need the
   * gateway's own URL (jobs started through Batch reach S3 through it); until then requests get 503.
   */
  serve(apis: AwsApis): void {
    this.apis = apis;
  }

  /** Routes one request to the API whose protocol it speaks. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const apis = this.apis;
    if (!apis) {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('the embedded platform is starting');
      return;
    }
    const op = header(req, 'x-amz-target');
    if (op?.startsWith('AWSEvents.')) return apis.events.handle(req, res);
    if (op?.startsWith('AmazonSQS.')) return apis.sqs.handle(req, res);
    if (op?.startsWith('Logs_20140328.')) return apis.logs.handle(req, res);
    if (op?.startsWith('DynamoDB_20120810.')) return forwardTo(apis.dynamoEndpoint, req, res);
    if ((req.url ?? '').startsWith('/v1/')) return apis.batch.handle(req, res);
    return apis.s3.handle(req, res);
  }
}

/** Streams the request to another HTTP server (the embedded DynamoDB) and its answer back, as is. */
function forwardTo(endpoint: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const upstream = new URL(endpoint);
  return new Promise((resolve) => {
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => resolve());
        answer.on('error', () => resolve());
      },
    );
    out.on('error', (e) => {
      if (!res.headersSent) {
        const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: `embedded DynamoDB unreachable: ${e.message}` });
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else res.destroy(e);
      resolve();
    });
    req.pipe(out);
  });
}
