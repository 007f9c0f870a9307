import { z } from 'zod';

/**
 * RFC 9457 problem details: the one error shape of the REST API, and (as `extensions`) of GraphQL.
 * `type` is a URN naming the kind of problem (see {@link PROBLEM_TYPES}; docs/api.md lists them),
 * `detail` says what was wrong and where, `problems` lists every invalid field of a bad request.
 */
export const problemSchema = z
  .object({
    type: z.string().describe('A URN naming the kind of problem: urn:nightshift:problem:<kind>.'),
    title: z.string().describe('The kind of problem, for people; the same for every problem of a type.'),
    status: z.number().int().min(400).max(599),
    detail: z.string().describe('What went wrong with this request, for people.'),
    instance: z.string().optional().describe('The request path the problem is about.'),
    problems: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('Every invalid field of a bad request: `body.<field>`, `query.<name>`, `headers.<name>`, `params.<name>`.'),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof problemSchema>;

/** The kinds of problem, by HTTP status (one type per status: a client branches on `type` or on the status alike). */
export const PROBLEM_TYPES = {
  400: { kind: 'invalid-request', title: 'The request is invalid' },
  401: { kind: 'unauthenticated', title: 'Authentication is required' },
  403: { kind: 'forbidden', title: 'The caller may not do this' },
  404: { kind: 'not-found', title: 'No such resource' },
  409: { kind: 'conflict', title: 'The resource is not in a state that allows this' },
  413: { kind: 'too-large', title: 'The request body is too large' },
  415: { kind: 'unsupported-media-type', title: 'The request body must be JSON' },
  422: { kind: 'unprocessable', title: 'The request cannot be processed as sent' },
  429: { kind: 'too-many-requests', title: 'Too many requests' },
  500: { kind: 'internal', title: 'Internal error' },
  503: { kind: 'unavailable', title: 'A dependency is unavailable; retry later' },
} as const satisfies Record<number, { kind: string; title: string }>;

/** The problem type URN of an HTTP status (`internal` for an unlisted 5xx, `invalid-request` for an unlisted 4xx). */
export function problemType(status: number): { type: string; title: string } {
  const known = (PROBLEM_TYPES as Record<number, { kind: string; title: string } | undefined>)[status];
  const entry = known ?? (status >= 500 ? PROBLEM_TYPES[500] : PROBLEM_TYPES[400]);
  return { type: `urn:nightshift:problem:${entry.kind}`, title: entry.title };
}

/** The media type of a problem document. */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';
