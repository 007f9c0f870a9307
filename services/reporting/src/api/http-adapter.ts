import { FastifyAdapter } from '@nestjs/platform-fastify';
import { PROBLEM_MEDIA_TYPE } from '@nightshift/api-contract';
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


