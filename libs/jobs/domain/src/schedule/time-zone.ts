/** A wall-clock time: what a clock in some time zone shows. `month` is 1-12. */
export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** True when Node's `Intl` knows the IANA zone (`America/New_York`, `UTC`, ...). */
export function isKnownTimeZone(zone: string): boolean {
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

/** Undefined zone means UTC; UTC takes the fast path without `Intl`. */
function isUtc(zone: string | undefined): boolean {
  return zone === undefined || zone === 'UTC' || zone === 'Etc/UTC';
}

/** The wall time at `instantMs` in `zone` (UTC when undefined). */
export function wallTimeAt(instantMs: number, zone: string | undefined): WallTime {
  if (isUtc(zone)) {
    const d = new Date(instantMs);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    };
  }
  const parts: Record<string, number> = {};
  for (const part of formatterFor(zone as string).formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts['year'] ?? 0,
    month: parts['month'] ?? 0,
    day: parts['day'] ?? 0,
    hour: parts['hour'] ?? 0,
    minute: parts['minute'] ?? 0,
    second: parts['second'] ?? 0,
  };
}

function wallAsUtcMs(w: WallTime): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

/**
 * The instant a wall time names in `zone`. Undefined when the wall time does not exist there
 * (skipped when clocks spring forward); the earlier of the two instants when it exists twice (the
 * hour repeated when clocks fall back).
 */
export function instantOfWallTime(wall: WallTime, zone: string | undefined): number | undefined {
  const asUtc = wallAsUtcMs(wall);
  if (isUtc(zone)) return asUtc;
  // Offsets a day either side cover both sides of any transition near this wall time.
  const offsets = new Set([asUtc - DAY_MS, asUtc, asUtc + DAY_MS].map((t) => wallAsUtcMs(wallTimeAt(t, zone)) - t));
  let earliest: number | undefined;
  for (const offset of offsets) {
    const candidate = asUtc - offset;
    if (wallAsUtcMs(wallTimeAt(candidate, zone)) === asUtc && (earliest === undefined || candidate < earliest)) {
      earliest = candidate;
    }
  }
  return earliest;
}
