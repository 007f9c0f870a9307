import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { PROBLEM_MEDIA_TYPE } from '@nightshift/api-contract';
import { throwError } from 'rxjs';
import { toProblem } from './api-problem.js';

interface ProblemReply {
  status(code: number): ProblemReply;
  header(name: string, value: string): ProblemReply;
  send(body: string): unknown;
}

/**
 * Every error of an HTTP request as RFC 9457 problem details (`application/problem+json`): the
 * API's own, the auth guard's, Fastify's (body too large, not JSON) and unknown routes alike.
 * Errors of the queue handlers (RPC) and of GraphQL are not HTTP answers and pass through.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): unknown {
    // A queue handler's error goes back to the transport as it is (see PreserveHandlerErrorFilter); GraphQL formats its own.
    if (host.getType() === 'rpc') return throwError(() => error);
    if (host.getType() !== 'http') throw error;
    const http = host.switchToHttp();
    const request = http.getRequest<{ url?: string }>();
    const reply = http.getResponse<ProblemReply>();
    const instance = request.url?.split('?')[0];
    const problem = toProblem(error, instance);
    return reply.status(problem.status).header('content-type', `${PROBLEM_MEDIA_TYPE}; charset=utf-8`).send(JSON.stringify(problem));
  }
}
