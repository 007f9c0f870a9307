import type { ObjectStore } from '@nightshift/storage-domain';
import { formatChange, type HeadlineUnit } from './headline-units.js';

/** The change of one headline figure against the previous business date's report. */
export interface HeadlineChange {
  previous: number;
  current: number;
  /** `current − previous`, unrounded (the two figures are as rounded as the headline shows them). */
  absolute: number;
  /** `absolute / |previous|`: +0.1 is 10 % up whatever the sign of the figure; null when previous is 0. */
  relative: number | null;
  /** For people, in the figure's unit: `+1.22 bps (+16.5 %)`. */
  text: string;
}

/** The report of the previous business date that a report is compared with, and the changes. */
export interface DayOverDay {
  reportId: string;
  runId: string;
  businessDate: string;
  publishedAt: string;
  headline: Record<string, number | string | null>;
  /**
   * Per figure of this report that is a number in both reports: the change. Texts (best_parameters),
   * figures undefined (null) in either report and money figures of another currency have none.
   */
  changes: Record<string, HeadlineChange>;
}

/** What a report is compared with: the previous report's figures and currency. */
export interface ComparedReport {
  reportId: string;
  runId: string;
  businessDate: string;
  publishedAt: string;
  headline: Record<string, number | string | null>;
  /** Its money figures' currency; absent on a report published before reports carried one. */
  currency?: string;
}

/** The day-over-day block of a report: every figure that is a number in both, its change. */
export function dayOverDay(
  current: { headline: Record<string, number | string | null>; units: Record<string, HeadlineUnit>; currency: string },
  previous: ComparedReport,
): DayOverDay {
  const changes: Record<string, HeadlineChange> = {};
  for (const [name, now] of Object.entries(current.headline)) {
    const before = previous.headline[name];
    if (typeof now !== 'number' || typeof before !== 'number') continue;
    const unit = current.units[name];
    // Money in two currencies does not subtract.
    if (unit?.kind === 'currency' && previous.currency !== undefined && previous.currency !== current.currency) continue;
    const absolute = now - before;
    const relative = before === 0 ? null : absolute / Math.abs(before);
    changes[name] = { previous: before, current: now, absolute, relative, text: formatChange(absolute, relative, unit) };
  }
  return { reportId: previous.reportId, runId: previous.runId, businessDate: previous.businessDate, publishedAt: previous.publishedAt, headline: previous.headline, changes };
}

/** One entry of the report index: a published report of a pipeline, tenant and business date. */
export interface ReportIndexEntry {
  reportId: string;
  runId: string;
  businessDate: string;
  publishedAt: string;
  /** The report document's key. */
  key: string;
}

const INDEX_PREFIX = 'reports/index';

/**
 * The reports of each pipeline per tenant by business date, as small objects beside the report
 * documents (`reports/index/<tenant>/<pipeline>/<businessDate>/<reportId>.json`), so the previous
 * business date's report is one listing of the pipeline's prefix away, not a scan of every report.
 * Key order is date order (YYYY-MM-DD). Written after the report is stored, so an entry names a
 * stored report; reports published before the index existed are not in it (they have no successor's
 * comparison).
 */
export class ReportIndex {
  constructor(private readonly objects: ObjectStore) {}

  async add(tenant: string, pipeline: string, entry: ReportIndexEntry): Promise<void> {
    await this.objects.put(`${this.prefix(tenant, pipeline)}${entry.businessDate}/${entry.reportId}.json`, JSON.stringify(entry), 'application/json');
  }

  /**
   * The latest report of the pipeline and tenant with a business date before `businessDate`: of that
   * date, the one published last (a re-run replaces what the day's report says). Undefined when none.
   */
  async previous(tenant: string, pipeline: string, businessDate: string): Promise<ReportIndexEntry | undefined> {
    const prefix = this.prefix(tenant, pipeline);
    const byDate = new Map<string, string[]>();
    for (const { key } of await this.objects.list(prefix)) {
      const date = key.slice(prefix.length).split('/')[0] ?? '';
      if (date >= businessDate) continue;
      byDate.set(date, [...(byDate.get(date) ?? []), key]);
    }
    const latestDate = [...byDate.keys()].sort().at(-1);
    if (latestDate === undefined) return undefined;
    const entries = await Promise.all((byDate.get(latestDate) ?? []).map(async (key) => JSON.parse(Buffer.from(await this.objects.get(key)).toString('utf8')) as ReportIndexEntry));
    return entries.sort((a, b) => a.publishedAt.localeCompare(b.publishedAt) || a.reportId.localeCompare(b.reportId)).at(-1);
  }

  private prefix(tenant: string, pipeline: string): string {
    return `${INDEX_PREFIX}/${tenant}/${pipeline}/`;
  }
}
