import 'reflect-metadata';
import { Controller, Inject, Module, type INestMicroservice, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { lastValueFrom, tap, timer } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventBridgeEvent } from '@nightshift/contracts';
import { PublishFailedError, type ClaimCheckStore, type MessageConsumer } from '@nightshift/events-domain';
import { InvalidEmitError, LocalBusClient, LocalEventBus, RequestResponseNotSupportedError } from '@nightshift/events-local';
import { PreserveHandlerErrorFilter } from './preserve-handler-error.filter.js';
import { QueueContext } from './queue-context.js';
import { QueueServer } from './queue-server.js';
import { eventually, tempDir } from './testing/fixtures.js';

/** Domain errors as nightshift's libs define them: the transport reads `retryable`. */
abstract class DomainError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
class DatasetUnknownError extends DomainError {
  readonly retryable = false;
}
class StoreUnavailableError extends DomainError {
  readonly retryable = true;
}

type Handler = (event: EventBridgeEvent, ctx: QueueContext) => unknown;
const HANDLERS = Symbol('handlers');
interface Handlers {
  landed: Handler;
  registered: Handler;
}

@Controller()
class IngestionController {
  constructor(@Inject(HANDLERS) private readonly handlers: Handlers) {}

  @EventPattern<string>('Dataset Landed')
  onLanded(@Payload() event: EventBridgeEvent, @Ctx() ctx: QueueContext): unknown {
    return this.handlers.landed(event, ctx);
  }

  @EventPattern<string>('Dataset Registered')
  onRegistered(@Payload() event: EventBridgeEvent, @Ctx() ctx: QueueContext): unknown {
    return this.handlers.registered(event, ctx);
  }
}

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const RULES = {
  ingestion: [
    { name: 'landed', description: '', eventPattern: { 'detail-type': ['Dataset Landed', 'Dataset Registered', 'Dataset Rejected'] } },
  ],
};

class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(m: unknown) {
    this.lines.push(`log ${String(m)}`);
  }
  warn(m: unknown) {
    this.lines.push(`warn ${String(m)}`);
  }
  error(m: unknown) {
    this.lines.push(`error ${String(m)}`);
  }
}

let dir: string;
let cleanup: () => Promise<void>;
let bus: LocalEventBus;
let app: INestMicroservice | undefined;
let client: LocalBusClient;
let logger: CapturingLogger;
let handlers: Handlers;

async function start(options: { concurrency?: number; filter?: boolean } = {}): Promise<void> {
  @Module({ controllers: [IngestionController], providers: [{ provide: HANDLERS, useValue: handlers }] })
  class IngestionModule {}
  app = await NestFactory.createMicroservice(IngestionModule, {
    strategy: new QueueServer({ consumer: bus.consumer('ingestion'), concurrency: options.concurrency, retryBackoff: { baseMs: 20, maxMs: 100 } }),
    logger,
  });
  if (options.filter ?? true) app.useGlobalFilters(new PreserveHandlerErrorFilter());
  await app.listen();
}

const emitLanded = (dataset: string) =>
  lastValueFrom(
    client.emit('Dataset Landed', {
      source: 'oms.upstream',
      detail: { dataset, businessDate: '2024-05-01', files: [] },
      resources: ['arn:aws:s3:::landing'],
    }),
  );

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  bus = await LocalEventBus.open({ dir, rules: RULES, maxReceiveCount: 3, visibilityTimeoutMs: 5_000 });
  client = new LocalBusClient(bus);
  logger = new CapturingLogger();
  handlers = { landed: () => undefined, registered: () => undefined };
});

afterEach(async () => {
  await app?.close();
  app = undefined;
  await bus.close();
  await cleanup();
});

describe('QueueServer over the embedded bus in a Nest microservice', () => {
  it('delivers an event emitted through LocalBusClient to its @EventPattern handler, whole, and acks it', async () => {
    const seen: Array<{ event: EventBridgeEvent; receiveCount: number; queue: string; pattern: string }> = [];
    handlers.landed = async (event, ctx) => {
      seen.push({ event, receiveCount: ctx.getReceiveCount(), queue: ctx.getQueue(), pattern: ctx.getPattern() });
    };
    await start();
    const result = await emitLanded('executions');
    expect(result.FailedEntryCount).toBe(0);

    const [got] = await eventually(() => (seen.length > 0 ? seen : undefined));
    expect(got.event).toMatchObject({
      version: '0',
      id: 'EventId' in result.Entries[0] ? result.Entries[0].EventId : 'missing',
      'detail-type': 'Dataset Landed',
      source: 'oms.upstream',
      resources: ['arn:aws:s3:::landing'],
      detail: { dataset: 'executions', businessDate: '2024-05-01', files: [] },
    });
    expect(got).toMatchObject({ receiveCount: 1, queue: 'ingestion', pattern: 'Dataset Landed' });
    await eventually(() => (bus.stats('ingestion').inFlight === 0 && bus.stats('ingestion').visible === 0 ? true : undefined));
  });

  it('acks only after an observable result completes', async () => {
    let called = false;
    let completed = false;
    handlers.landed = () => {
      called = true;
      return timer(150).pipe(tap({ complete: () => (completed = true) }));
    };
    await start();
    await emitLanded('slow');
    await eventually(() => (called ? true : undefined));
    expect(bus.stats('ingestion').inFlight).toBe(1);
    await eventually(() => (bus.stats('ingestion').inFlight === 0 ? true : undefined));
    expect(completed).toBe(true);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
  });

  it('moves a message whose handler throws a non-retryable error to the DLQ at once, with the error', async () => {
    let calls = 0;
    handlers.landed = async () => {
      calls++;
      throw new DatasetUnknownError('dataset "nope" is not registered');
    };
    await start();
    await emitLanded('nope');
    const [dead] = await eventually(() => {
      const d = bus.listDeadLetters('ingestion');
      return d.length > 0 ? d : undefined;
    });
    expect(dead.receiveCount).toBe(1);
    expect(dead.reason).toBe('DatasetUnknownError: dataset "nope" is not registered');
    expect(calls).toBe(1);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 1 });
  });

  it('redelivers after a retryable error (with backoff) and acks when the handler then succeeds', async () => {
    const deliveries: number[] = [];
    handlers.landed = async (_event, ctx) => {
      deliveries.push(ctx.getReceiveCount());
      if (ctx.getReceiveCount() === 1) throw new StoreUnavailableError('table busy');
    };
    await start();
    await emitLanded('flaky');
    await eventually(() => (deliveries.length === 2 && bus.stats('ingestion').inFlight === 0 ? true : undefined));
    expect(deliveries).toEqual([1, 2]);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
    expect(logger.lines.some((l) => l.startsWith('warn') && l.includes('table busy'))).toBe(true);
  });

  it('without PreserveHandlerErrorFilter, errors are retried until maxReceiveCount and then dead-lettered', async () => {
    let calls = 0;
    handlers.landed = async () => {
      calls++;
      throw new DatasetUnknownError('nope');
    };
    await start({ filter: false });
    await emitLanded('nope');
    const [dead] = await eventually(() => {
      const d = bus.listDeadLetters('ingestion');
      return d.length > 0 ? d : undefined;
    });
    expect(calls).toBe(3);
    expect(dead.reason).toMatch(/^maxReceiveCount 3 exceeded; last error: Internal server error/);
    expect(logger.lines.some((l) => l.includes('register PreserveHandlerErrorFilter'))).toBe(true);
  });

  it('acks and warns about an event that reaches the queue with no handler', async () => {
    await start();
    await lastValueFrom(client.emit('Dataset Rejected', { source: 'nightshift.ingestion', detail: { reason: 'x' } }));
    await eventually(() => (logger.lines.some((l) => l.includes('No @EventPattern("Dataset Rejected")')) ? true : undefined));
    await eventually(() => (bus.stats('ingestion').inFlight === 0 ? true : undefined));
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
  });

  it('runs at most `concurrency` handlers at once', async () => {
    let running = 0;
    let peak = 0;
    let done = 0;
    handlers.landed = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 60));
      running--;
      done++;
    };
    await start({ concurrency: 2 });
    await bus.putEvents(
      Array.from({ length: 6 }, (_, i) => ({ Source: 'oms', DetailType: 'Dataset Landed', Detail: JSON.stringify({ i }) })),
    );
    await eventually(() => (done === 6 ? true : undefined));
    expect(peak).toBe(2);
  });

  it('extends the visibility of a message while its handler runs past the timeout (heartbeat), so it is handled once', async () => {
    await app?.close();
    await bus.close();
    bus = await LocalEventBus.open({ dir, rules: RULES, maxReceiveCount: 3, visibilityTimeoutMs: 1_500 });
    client = new LocalBusClient(bus);
    let calls = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    handlers.landed = async () => {
      calls++;
      await held;
    };
    // The bus's consumer, counting the heartbeat's extensions.
    const consumer = bus.consumer('ingestion');
    let extensions = 0;
    const counting: MessageConsumer = {
      queue: consumer.queue,
      get visibilityTimeoutMs() {
        return consumer.visibilityTimeoutMs;
      },
      receive: (max, options) => consumer.receive(max, options),
      ack: (handle) => consumer.ack(handle),
      release: (handle, delayMs, reason) => consumer.release(handle, delayMs, reason),
      deadLetter: (handle, reason) => consumer.deadLetter(handle, reason),
      extendVisibility: async (handle, timeoutMs) => {
        const extended = await consumer.extendVisibility(handle, timeoutMs);
        if (extended) extensions++;
        return extended;
      },
    };
    @Module({ controllers: [IngestionController], providers: [{ provide: HANDLERS, useValue: handlers }] })
    class HeartbeatModule {}
    app = await NestFactory.createMicroservice(HeartbeatModule, { strategy: new QueueServer({ consumer: counting }), logger });
    app.useGlobalFilters(new PreserveHandlerErrorFilter());
    await app.listen();
    await emitLanded('slow');
    await eventually(() => (calls === 1 ? true : undefined));
    // Four extensions at half a timeout each: the message has outlived its first visibility
    // timeout twice over, and it was never delivered again.
    await eventually(() => (extensions >= 4 ? true : undefined), 30_000);
    expect(calls).toBe(1);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 1, deadLetters: 0 });
    release();
    await eventually(() => (bus.stats('ingestion').inFlight === 0 ? true : undefined));
    expect(calls).toBe(1);
  });

  it('hands the handler a claim-checked detail read back from the object store, and dead-letters one whose payload is gone', async () => {
    const stored = new Map<string, Uint8Array>([['claim-checks/2026-11-29/a.json', new TextEncoder().encode('{"dataset":"big","files":[]}')]]);
    const store: ClaimCheckStore = {
      put: async () => {
        throw new Error('not used');
      },
      get: async (key) => {
        const v = stored.get(key);
        if (!v) throw Object.assign(new Error(`no object ${key}`), { retryable: false });
        return v;
      },
    };
    const seen: unknown[] = [];
    handlers.landed = async (event) => {
      seen.push(event.detail);
    };
    @Module({ controllers: [IngestionController], providers: [{ provide: HANDLERS, useValue: handlers }] })
    class ClaimCheckModule {}
    app = await NestFactory.createMicroservice(ClaimCheckModule, { strategy: new QueueServer({ consumer: bus.consumer('ingestion'), claimChecks: store }), logger });
    app.useGlobalFilters(new PreserveHandlerErrorFilter());
    await app.listen();
    await bus.putEvents([
      { Source: 'oms', DetailType: 'Dataset Landed', Detail: JSON.stringify({ claimCheck: { key: 'claim-checks/2026-11-29/a.json', bytes: 28 } }) },
      { Source: 'oms', DetailType: 'Dataset Landed', Detail: JSON.stringify({ claimCheck: { key: 'claim-checks/2026-11-29/gone.json', bytes: 5 } }) },
    ]);
    await eventually(() => (bus.stats('ingestion').deadLetters === 1 && seen.length === 1 ? true : undefined));
    expect(seen).toEqual([{ dataset: 'big', files: [] }]);
    expect(bus.listDeadLetters('ingestion')[0].reason).toMatch(/ClaimCheckError: claim-checked detail claim-checks\/2026-11-29\/gone.json: cannot be read/);
  });

  it('lets close() wait for a running handler to finish and ack', async () => {
    let finished = false;
    handlers.landed = async () => {
      await new Promise((r) => setTimeout(r, 150));
      finished = true;
    };
    await start();
    await emitLanded('x');
    await eventually(() => (bus.stats('ingestion').inFlight === 1 ? true : undefined));
    await app!.close();
    app = undefined;
    expect(finished).toBe(true);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
  });

  it('does not let a hung handler block close(): the message stays on the queue for redelivery', async () => {
    handlers.landed = () => new Promise(() => undefined);
    @Module({ controllers: [IngestionController], providers: [{ provide: HANDLERS, useValue: handlers }] })
    class HungModule {}
    app = await NestFactory.createMicroservice(HungModule, {
      strategy: new QueueServer({ consumer: bus.consumer('ingestion'), concurrency: 1, shutdownTimeoutMs: 100 }),
      logger,
    });
    await app.listen();
    await emitLanded('a');
    await emitLanded('b');
    await eventually(() => (bus.stats('ingestion').inFlight === 1 ? true : undefined));
    const started = Date.now();
    await app.close();
    app = undefined;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(bus.stats('ingestion')).toEqual({ visible: 1, inFlight: 1, deadLetters: 0 });
  });

  it("exposes the delivery and the detail's metadata through QueueContext", async () => {
    const contexts: QueueContext[] = [];
    handlers.registered = (_event, ctx) => {
      contexts.push(ctx);
    };
    await start();
    await lastValueFrom(
      client.emit('Dataset Registered', {
        source: 'nightshift.ingestion',
        detail: { metadata: { eventId: 'evt-7', correlationId: 'corr-7', occurredAt: '2024-05-02T01:00:00.000Z', traceparent: TRACEPARENT }, data: {} },
      }),
    );
    const [ctx] = await eventually(() => (contexts.length > 0 ? contexts : undefined));
    expect(ctx).toBeInstanceOf(QueueContext);
    expect(ctx.getMetadata()).toEqual({ eventId: 'evt-7', correlationId: 'corr-7', occurredAt: '2024-05-02T01:00:00.000Z', traceparent: TRACEPARENT });
    expect(ctx.getEvent()['detail-type']).toBe('Dataset Registered');
    expect(ctx.getMessageId()).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('LocalBusClient', () => {
  it('refuses request/response and malformed emits', async () => {
    expect(() => client.send('Dataset Landed', {})).toThrow(RequestResponseNotSupportedError);
    await expect(lastValueFrom(client.emit({ cmd: 'x' }, { source: 's', detail: {} }))).rejects.toBeInstanceOf(InvalidEmitError);
    await expect(lastValueFrom(client.emit('Dataset Landed', { detail: {} }))).rejects.toBeInstanceOf(InvalidEmitError);
    await expect(lastValueFrom(client.emit('Dataset Landed', { source: 's', detail: [1] }))).rejects.toBeInstanceOf(PublishFailedError);
    expect(bus.stats('ingestion').visible).toBe(0);
  });
});
