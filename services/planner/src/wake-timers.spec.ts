import { describe, expect, it } from 'vitest';
import { WakeTimers } from './wake-timers.js';

describe('WakeTimers', () => {
  it('wakes once per run and time, at once for a time past, and hands errors to onError', async () => {
    const timers = new WakeTimers();
    const woken: string[] = [];
    const done = new Promise<void>((resolve) => {
      const at = new Date(Date.now() - 1_000);
      timers.at('run-1', at, async () => void woken.push('run-1'));
      timers.at('run-1', at, async () => void woken.push('run-1 again'));
      timers.at('run-2', at, () => Promise.reject(new Error('store down')), (e) => {
        woken.push(`error: ${(e as Error).message}`);
        resolve();
      });
    });
    await done;
    expect(woken).toEqual(['run-1', 'error: store down']);
    timers.stop();
  });

  it('wakes nothing once stopped, and takes no new wake-ups', async () => {
    const timers = new WakeTimers();
    let woken = 0;
    timers.at('run-1', new Date(Date.now() + 20), async () => void (woken += 1));
    timers.stop();
    timers.at('run-2', new Date(Date.now() - 1), async () => void (woken += 1));
    // A timer that would fire had it not been cleared: wait past its time for a control wake-up of a fresh instance.
    await new Promise<void>((resolve) => new WakeTimers().at('control', new Date(Date.now() + 40), async () => resolve()));
    expect(woken).toBe(0);
  });
});
