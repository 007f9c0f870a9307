import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { PublishFailedError, type PutEventsResult, type PutEventsTarget } from '@nightshift/events-domain';
import { InvalidEmitError, messageOf, RequestResponseNotSupportedError } from './errors.js';

/** What `LocalBusClient.emit(detailType, payload)` takes. */
export interface LocalBusEmitPayload {
  source: string;
  /** The event detail: a JSON-serializable object (nightshift's `{ metadata, data }` envelope). */
  detail: unknown;
  resources?: string[];
}

/** Options of {@link LocalBusClient}. */
export interface LocalBusClientOptions {
  /** Sent as each entry's `EventBusName`; default none (the bus itself). */
  eventBusName?: string;
}

/**
 * NestJS client for the embedded bus: `client.emit(detailType, { source, detail, resources })`
 * becomes one PutEvents entry and the returned observable completes (with the PutEvents result)
 * once the event is durably accepted, or errors with {@link PublishFailedError}. Subscribe to it
 * (`await lastValueFrom(client.emit(...))`): an unobserved failure is an unhandled error.
 * `send()` (request/response) is not supported: EventBridge has no reply channel.
 */
export class LocalBusClient extends ClientProxy {
  constructor(
    private readonly target: PutEventsTarget,
    private readonly options: LocalBusClientOptions = {},
  ) {
    super();
  }

  /** Nothing to connect: the bus is in this process. */
  async connect(): Promise<PutEventsTarget> {
    return this.target;
  }

  /** Nothing to close: the bus is owned by whoever opened it. */
  async close(): Promise<void> {}

  /** The bus (the PutEvents target). */
  unwrap<T>(): T {
    return this.target as T;
  }

  /** Always throws {@link RequestResponseNotSupportedError}. */
  override send(pattern: unknown, _data?: unknown): never {
    throw new RequestResponseNotSupportedError(pattern);
  }

  protected publish(packet: ReadPacket, _callback: (packet: WritePacket) => void): () => void {
    throw new RequestResponseNotSupportedError(packet.pattern);
  }

  protected async dispatchEvent<T = PutEventsResult>(packet: ReadPacket): Promise<T> {
    const detailType: unknown = packet.pattern;
    if (typeof detailType !== 'string' || detailType === '') {
      throw new InvalidEmitError(`the pattern must be the event's detail-type (a non-empty string), got ${typeof detailType}`);
    }
    const payload = packet.data as Partial<LocalBusEmitPayload> | null;
    if (typeof payload !== 'object' || payload === null || typeof payload.source !== 'string') {
      throw new InvalidEmitError('the payload must be { source: string, detail: object, resources?: string[] }');
    }
    let detail: string | undefined;
    try {
      detail = JSON.stringify(payload.detail);
    } catch (e) {
      throw new InvalidEmitError(`detail is not serializable to JSON: ${messageOf(e)}`);
    }
    const result = await this.target.putEvents([
      {
        Source: payload.source,
        DetailType: detailType,
        Detail: detail,
        ...(payload.resources !== undefined ? { Resources: payload.resources } : {}),
        ...(this.options.eventBusName !== undefined ? { EventBusName: this.options.eventBusName } : {}),
      },
    ]);
    const [entry] = result.Entries;
    if (entry && 'ErrorCode' in entry) {
      throw new PublishFailedError(
        [{ index: 0, source: payload.source, detailType, errorCode: entry.ErrorCode, errorMessage: entry.ErrorMessage }],
        1,
      );
    }
    return result as T;
  }
}
