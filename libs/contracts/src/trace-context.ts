/**
 * Finds the W3C trace context an event carries: nightshift's `detail.metadata.traceparent`, an
 * upstream event's plain `detail.traceparent`, or, for AWS Batch state changes, the TRACEPARENT
 * the job was submitted with (`detail.container.environment`).
 */
export function traceparentOf(event: { detail?: unknown }): string | undefined {
  const d = event.detail as Record<string, unknown> | undefined;
  if (!d || typeof d !== 'object') return undefined;
  const meta = d['metadata'] as Record<string, unknown> | undefined;
  if (meta && typeof meta['traceparent'] === 'string') return meta['traceparent'];
  if (typeof d['traceparent'] === 'string') return d['traceparent'];
  const env = (d['container'] as { environment?: unknown } | undefined)?.environment;
  if (Array.isArray(env)) {
    const tp = env.find((e: { name?: unknown }) => e?.name === 'TRACEPARENT') as { value?: unknown } | undefined;
    if (typeof tp?.value === 'string') return tp.value;
  }
  return undefined;
}
