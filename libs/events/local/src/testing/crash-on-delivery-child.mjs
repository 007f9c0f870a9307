// A consumer whose handler takes the process down on every delivery: it receives one message,
// reports it, and kills itself with SIGKILL before it could ack or release. Once the queue has
// nothing left to deliver it reports the dead letters and exits. Runs the compiled bus (dist/).
import { writeSync } from 'node:fs';
import { LocalEventBus } from '../../dist/local-event-bus.js';

const [dir, maxReceiveCount] = process.argv.slice(2);
const tick = [{ name: 'ticks', description: 'every tick', eventPattern: { 'detail-type': ['Tick'] } }];
const bus = await LocalEventBus.open({ dir, rules: { planner: tick }, visibilityTimeoutMs: 100, maxReceiveCount: Number(maxReceiveCount) });
// Synchronous, so the line is in the pipe before the kill.
const say = (line) => writeSync(1, `${line}\n`);
const [m] = await bus.receive('planner', 1, { waitTimeMs: 1_000 });
if (!m) {
  say(`dead ${bus.listDeadLetters('planner').map((d) => `${d.event.id}:${d.receiveCount}`).join(' ')}`);
  await bus.close();
} else {
  say(`received ${m.event.id}:${m.receiveCount}`);
  process.kill(process.pid, 'SIGKILL');
}
