import { FastifyAdapter } from '@nestjs/platform-fastify';
import { PROBLEM_MEDIA_TYPE } from '@nightshift/api-contract';
import { startServerSpan, type ServerSpan } from '@nightshift/observability';
import { reportingHttpOptions } from '../config.js';
import { toProblem } from './api-problem.js';

/**
 * The Fastify adapter of reporting's HTTP server: bounded timeouts and body size
 * (reportingHttpOptions), and problem details for the errors Fastify answers itself, before Nest
 * has the request (a body that is empty, not JSON, of another media type or too large): those
 * bypass Nest's exception filters, so their default `{statusCode, error, message}` answer is
 * rewritten here, on its way out, into the API's one error shape.
 */
export function reportingHttpAdapter(config: Parameters<typeof reportingHttpOptions>[0]): FastifyAdapter {
  const adapter = new FastifyAdapter(reportingHttpOptions(config));
  traceRequests(adapter);
  adapter.getInstance().addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode < 400 || typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
    let body: { statusCode?: unknown; message?: unknown; type?: unknown };
    try {
      body = JSON.parse(payload) as typeof body;
    } catch {
      return payload;
    }
    if (body.type !== undefined || typeof body.statusCode !== 'number' || typeof body.message !== 'string') return payload;
    const problem = toProblem(Object.assign(new Error(body.message), { statusCode: body.statusCode }), request.url.split('?')[0]);
    reply.header('content-type', `${PROBLEM_MEDIA_TYPE}; charset=utf-8`);
    return JSON.stringify(problem);
  });
  return adapter;
}

/** Requests not traced: probes, scrapes and the dashboard's static files, which say nothing about the work. */
const UNTRACED = /^\/(health|metrics|ui)(\/|$|\?)/;

/**
 * A server span per API request (`GET /runs/:id`), continuing the caller's W3C `traceparent`, with
 * the handling inside it (a `POST /runs` then publishes its Run Requested in the caller's trace).
 * Hooks rather than an instrumentation: instrumentation-http/-fastify must patch the modules before
 * the ESM entrypoint loads them (docs/adr/0015-traces-at-the-seams.md). The context is entered again
 * before the handler: a body is parsed outside the hook's async context.
 */
function traceRequests(adapter: FastifyAdapter): void {
  const spans = new WeakMap<object, ServerSpan>();
  const instance = adapter.getInstance();
  instance.addHook('onRequest', (request, _reply, done) => {
    const path = request.url.split('?')[0] ?? request.url;
    if (UNTRACED.test(path)) return done();
    const route = request.routeOptions.url;
    const header = request.headers['traceparent'];
    const span = startServerSpan(`${request.method} ${route ?? path}`, {
      service: 'nightshift-reporting',
      ...(typeof header === 'string' ? { traceparent: header } : {}),
      attributes: { 'http.request.method': request.method, 'url.path': path, ...(route ? { 'http.route': route } : {}), 'url.scheme': 'http' },
    });
    spans.set(request, span);
    span.run(done);
  });
  instance.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (span) span.run(done);
    else done();
  });
  instance.addHook('onResponse', (request, reply, done) => {
    spans.get(request)?.end(reply.statusCode);
    done();
  });
  instance.addHook('onRequestAbort', (request, done) => {
    spans.get(request)?.end(499);
    done();
  });
}
