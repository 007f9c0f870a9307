import { describe, expect, it } from 'vitest';
import { assertSoakChecks, DEFAULT_SOAK_OPTIONS, formatSoakMarkdown, summarizeSoak, type SoakRound } from './bench-soak.js';
import { BenchCheckFailedError } from './errors.js';

const rounds = (heaps: number[]): SoakRound[] => heaps.map((heap_mb, i) => ({ round: i + 1, heap_mb, rss_mb: 200 + heap_mb, seconds: 10 }));
const backlog = (perMessage: number) => ({ messages: 1000, event_bytes: 4000, heap_bytes_per_message: perMessage, heap_to_event_ratio: perMessage / 4000 });
const reported = { 'run requested and reported': DEFAULT_SOAK_OPTIONS.runsPerRound };

describe('soak bench figures', () => {
  it('call a heap flat when the last round is within 10% of the first warm one, and name the slope', () => {
    const result = summarizeSoak({ ...DEFAULT_SOAK_OPTIONS, rounds: 6 }, rounds([40, 44, 45, 45.5, 45.2, 46]), reported, backlog(200));
    expect(result.heap_ratio_last_to_warm).toBeCloseTo(46 / 45, 6);
    expect(result.heap_slope_mb_per_round).toBeCloseTo(0.27, 6);
    expect(result.checks.every((c) => c.ok)).toBe(true);
    expect(() => assertSoakChecks(result)).not.toThrow();
    expect(formatSoakMarkdown(result)).toContain('**1.022x**');
  });

  it('fail on a heap that keeps growing, on events held in memory, and on runs that did not all report', () => {
    const growing = summarizeSoak({ ...DEFAULT_SOAK_OPTIONS, rounds: 6 }, rounds([40, 44, 45, 48, 51, 54]), reported, backlog(200));
    expect(growing.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['heap flat under sustained load']);
    const holding = summarizeSoak({ ...DEFAULT_SOAK_OPTIONS, rounds: 4 }, rounds([40, 44, 45, 45]), reported, backlog(4300));
    expect(holding.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['waiting events are not held in memory']);
    const lost = summarizeSoak({ ...DEFAULT_SOAK_OPTIONS, rounds: 4 }, rounds([40, 44, 45, 45]), {}, backlog(200));
    expect(() => assertSoakChecks(lost)).toThrow(BenchCheckFailedError);
  });
});
