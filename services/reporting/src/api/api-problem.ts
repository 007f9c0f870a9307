import { HttpException } from '@nestjs/common';
import { problemType, type Problem } from '@nightshift/api-contract';
import { InvalidPageTokenError } from '@nightshift/jobs-domain';

/** One invalid field of a request: where (`query.status`, `body.pipeline`) and what is wrong. */
export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * A request the API refuses or cannot serve, as RFC 9457 problem details: thrown by the API
 * service, rendered by the REST filter as `application/problem+json` and by GraphQL as the error's
 * `extensions.problem`, so both interfaces give the same errors.
 */
export class ApiProblemError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly status: number,
    detail: string,
    readonly problems?: FieldProblem[],
  ) {
    super(detail);
    this.name = 'ApiProblemError';
    this.retryable = status === 503 || status === 429;
  }

  toProblem(instance?: string): Problem {
    return { ...problemType(this.status), status: this.status, detail: this.message, ...(instance ? { instance } : {}), ...(this.problems?.length ? { problems: this.problems } : {}) };
  }
}

export const badRequest = (detail: string, problems?: FieldProblem[]) => new ApiProblemError(400, detail, problems);
export const notFound = (detail: string) => new ApiProblemError(404, detail);
export const conflict = (detail: string) => new ApiProblemError(409, detail);
export const forbidden = (detail: string) => new ApiProblemError(403, detail);

/**
 * The problem details of anything thrown while serving `instance`: an ApiProblemError as it is; a
 * Nest HttpException (the auth guard's 401/403/503) by its status and message; Fastify's own
 * request errors (body too large, not JSON) by their `statusCode`; anything else a 500 that does
 * not reveal its message.
 */
export function toProblem(error: unknown, instance?: string): Problem {
  if (error instanceof ApiProblemError) return error.toProblem(instance);
  if (error instanceof InvalidPageTokenError) return new ApiProblemError(400, error.message, [{ path: 'query.cursor', message: 'not issued by this listing' }]).toProblem(instance);
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const body = error.getResponse();
    let detail = error.message;
    let problems: FieldProblem[] | undefined;
    if (typeof body === 'object' && body !== null) {
      const { message, problems: listed } = body as { message?: unknown; problems?: unknown };
      if (typeof message === 'string') detail = message;
      else if (Array.isArray(message)) detail = message.join('; ');
      if (Array.isArray(listed)) problems = listed as FieldProblem[];
    }
    return new ApiProblemError(status, detail, problems).toProblem(instance);
  }
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new ApiProblemError(statusCode, error instanceof Error ? error.message : String(error)).toProblem(instance);
  }
  return new ApiProblemError(500, 'internal error; the request may be retried').toProblem(instance);
}
