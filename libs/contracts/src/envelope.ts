import { z } from 'zod';

/**
 * The EventBridge event envelope, exactly as EventBridge delivers it to a target.
 * Every event on the nightshift bus (ours, upstream systems', AWS services') has this shape.
 */
export const eventBridgeEnvelopeSchema = z.object({
  version: z.string(),
  id: z.string().min(1),
  'detail-type': z.string().min(1).max(128),
  source: z.string().min(1).max(256),
  account: z.string(),
  time: z.string().datetime({ offset: true }),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.unknown(),
});

/** An EventBridge event with a typed `detail`. */
export interface EventBridgeEvent<TDetailType extends string = string, TDetail = unknown> {
  version: string;
  id: string;
  'detail-type': TDetailType;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: TDetail;
}

/** W3C traceparent: version-traceid-parentid-flags. */
export const traceparentSchema = z
  .string()
  .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, 'must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)');

/**
 * Metadata carried by every event nightshift itself emits.
 * `eventId` is the idempotency key consumers deduplicate on; `correlationId` ties every event of one
 * business flow together (the id of the upstream event that started it); `traceparent` carries the
 * OpenTelemetry trace across hops that the transport cannot carry it on.
 */
export const eventMetadataSchema = z.object({
  eventId: z.string().min(1),
  correlationId: z.string().min(1),
  occurredAt: z.string().datetime({ offset: true }),
  traceparent: traceparentSchema.optional(),
  tenant: z.string().min(1).optional(),
});
export type EventMetadata = z.infer<typeof eventMetadataSchema>;

/** Wraps a data schema in nightshift's detail envelope `{ metadata, data }`. */
export function detailEnvelope<T extends z.ZodType>(data: T) {
  return z.object({ metadata: eventMetadataSchema, data });
}

/** The detail shape of every event nightshift emits. */
export interface DetailEnvelope<TData> {
  metadata: EventMetadata;
  data: TData;
}

/** Event sources owned by nightshift. Upstream systems use their own source names. */
export const NightshiftSource = {
  ingestion: 'nightshift.ingestion',
  planner: 'nightshift.planner',
  reporting: 'nightshift.reporting',
  scheduler: 'nightshift.scheduler',
  api: 'nightshift.api',
  /** The embedded event bus itself (Message Dead-Lettered). */
  bus: 'nightshift.bus',
} as const;
export type NightshiftSource = (typeof NightshiftSource)[keyof typeof NightshiftSource];

/** The bus every nightshift event is published on (EventBridge bus name in AWS). */
export const NIGHTSHIFT_BUS = 'nightshift';

/** Builds a detail envelope, leaving out absent optional metadata. */
export function envelope<T>(
  data: T,
  meta: { eventId: string; correlationId: string; occurredAt: Date; traceparent?: string; tenant?: string },
): DetailEnvelope<T> {
  return {
    metadata: {
      eventId: meta.eventId,
      correlationId: meta.correlationId,
      occurredAt: meta.occurredAt.toISOString(),
      ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
      ...(meta.tenant ? { tenant: meta.tenant } : {}),
    },
    data,
  };
}

/** Turns zod issues into located problems: `detail.files.0.table: Invalid option ...`. */
export function issuesToProblems(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>, root = 'detail'): Array<{ path: string; message: string }> {
  return issues.map((i) => ({ path: [root, ...i.path.map(String)].join('.'), message: i.message }));
}
