/**
 * One full-day closure of an exchange on a weekday. Weekends are never listed: they are closed by
 * definition, so listing them would only add entries a reader has to skip.
 */
export interface HolidayEntry {
  /** The closed day, `YYYY-MM-DD` (a plain calendar date in the exchange's own time zone). */
  readonly date: string;
  /** The holiday as the exchange or the government names it; "(observed)"/"(substitute day)" when moved off a weekend. */
  readonly name: string;
  /**
   * True when the exchange had not published this year yet when the table was written: the date is
   * computed from the standing rules and may change (an added day of mourning, a moved bank holiday).
   */
  readonly derived?: boolean;
}

/**
 * The holidays of one exchange as data, with where they come from. Kept as a typed TypeScript
 * constant rather than a `.json` file because this lib is a composite `tsc -b` project whose
 * `include` lists only the `.ts` files under `src`: a JSON import would not be listed in the project (TS6307) and would
 * not be emitted to `dist`.
 */
export interface HolidayTable {
  /** The calendar id: the exchange's ISO 10383 market identifier code (MIC). */
  readonly calendar: string;
  readonly name: string;
  /** IANA time zone of the exchange; the dates themselves are plain dates, not instants. */
  readonly timezone: string;
  /** First and last year (inclusive) the table covers completely. */
  readonly years: { readonly from: number; readonly to: number };
  readonly sources: ReadonlyArray<{ readonly title: string; readonly url: string }>;
  /** The rules behind the dates, the special cases and what the table leaves out. */
  readonly notes: string;
  /** Ascending by date, one entry per closed weekday. */
  readonly holidays: readonly HolidayEntry[];
}
