// A bus in its own process, publishing, receiving and acking in a loop, so that a test can
// kill -9 it at an arbitrary instant. It runs the compiled code (dist/, built by the test global
// setup), like the worker child processes do; the bus module alone, not the package index, to
// start without loading Nest. Each line it prints states something that was durable before the
// line was written.
import { LocalEventBus } from '../../dist/local-event-bus.js';

const [dir] = process.argv.slice(2);
const tick = [{ name: 'ticks', description: 'every tick', eventPattern: { 'detail-type': ['Tick'] } }];
const bus = await LocalEventBus.open({
  dir,
  rules: { ingestion: tick, planner: tick },
  visibilityTimeoutMs: 200,
  maxReceiveCount: 1000,
});
const say = (line) => process.stdout.write(`${line}\n`);
say('ready');
for (let n = 0; ; n++) {
  const entries = Array.from({ length: 4 }, (_, i) => ({ Source: 'crash.test', DetailType: 'Tick', Detail: JSON.stringify({ n, i }) }));
  const result = await bus.putEvents(entries);
  say(`put ${result.Entries.map((e) => e.EventId).join(' ')}`);
  const received = await bus.receive('ingestion', 3);
  say(`received ${received.map((m) => `${m.event.id}:${m.receiveCount}`).join(' ')}`);
  if (received.length > 0 && (await bus.ack('ingestion', received[0].receiptHandle))) say(`acked ${received[0].event.id}`);
}
