import { toMicros } from './source-time';

/**
 * Rows whose last_updated is off the source clock: after the pass's upper bound (the source clock in
 * its snapshot) by more than the look-back ('infinity', a year after 9999, or a real date in the
 * future), or before year 1 ('-infinity', BC). A writer stamps last_updated from the source clock
 * when its transaction starts, so such a value was set by hand or by a broken writer.
 *
 * Such a row is still extracted, as it is (nothing is dropped): the keyset reads it (an off-range
 * value in the keyset's second part, shared/src/source/change-reader.ts), and the transformer
 * quarantines what it cannot read as a timestamp, with table, id, column and reason. But a future
 * value that is a valid timestamp loads as it is, and even a quarantined row is only seen if someone
 * reads the quarantine, so the detector reports each such row it extracts: an error log line naming
 * table, id, column and value, and the RowsOffClock metric.
 */
export interface OffClockRow {
  readonly id: number;
  readonly column: 'last_updated';
  /** The value as PostgreSQL's JSON renders it ("infinity", "0044-03-15T00:00:00 BC", …). */
  readonly value: string;
  readonly reason: string;
}

/** What the contract writes (events/src/common.ts sourceTimestamp): years 1 to 9999. */
const CONTRACT_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/;

export interface OffClockScan {
  /** Where last_updated and the key are in a row's array (raw layout `arrays`). */
  readonly lastUpdatedIndex: number;
  readonly idIndex: number;
  /** The pass's upper bound ("YYYY-MM-DDTHH:MM:SS.ffffff") and look-back. */
  readonly upper: string;
  readonly lookbackSeconds: number;
}

/** The latest last_updated that is still on the clock for a pass: its upper bound plus the look-back, µs. */
export function clockLimit(scan: Pick<OffClockScan, 'upper' | 'lookbackSeconds'>): bigint {
  return toMicros(scan.upper) + BigInt(Math.round(scan.lookbackSeconds * 1_000_000));
}

/**
 * Whether a page may hold off-clock rows: pages are in keyset order and an off-clock row's key is
 * above the clock limit (an off-range row's is the off-range key, above every other), so a page
 * whose last key is within the limit holds none. The check costs nothing per row.
 */
export function mayHoldOffClockRows(lastKey: string | undefined, limit: bigint): boolean {
  return lastKey !== undefined && toMicros(lastKey) > limit;
}

/** The off-clock rows of a page in the arrays layout (JSON Lines of value arrays, no header). */
export function findOffClockRows(body: Buffer, scan: OffClockScan): OffClockRow[] {
  const limit = clockLimit(scan);
  const found: OffClockRow[] = [];
  for (const line of body.toString('utf8').split('\n')) {
    if (line === '') continue;
    const values = JSON.parse(line) as unknown[];
    const value = values[scan.lastUpdatedIndex];
    const id = values[scan.idIndex];
    if (typeof value !== 'string' || typeof id !== 'number') continue;
    const reason = offClockReason(value, limit, scan);
    if (reason) found.push({ id, column: 'last_updated', value, reason });
  }
  return found;
}

function offClockReason(value: string, limit: bigint, scan: OffClockScan): string | undefined {
  if (value === '-infinity' || value.endsWith(' BC')) return 'before year 1';
  const beyond = `after the source clock (${scan.upper} in the pass's snapshot) by more than the look-back (${scan.lookbackSeconds} s)`;
  if (!CONTRACT_TIMESTAMP.test(value)) return beyond; // 'infinity', or a year after 9999
  return toMicros(value) > limit ? beyond : undefined;
}
