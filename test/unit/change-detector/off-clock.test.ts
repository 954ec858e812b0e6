import { OFF_RANGE_LAST_UPDATED } from '@totes/shared/source/change-reader';
import { clockLimit, findOffClockRows, mayHoldOffClockRows } from '../../../services/change-detector/src/off-clock';

/** Which rows of a page the detector reports as off the source clock, and which pages it scans at all. */
const scan = { lastUpdatedIndex: 1, idIndex: 0, upper: '2024-11-15T14:40:00.000000', lookbackSeconds: 900 };
const page = (...rows: Array<[number, string]>) => Buffer.from(rows.map(([id, lu]) => `${JSON.stringify([id, lu, 'x'])}\n`).join(''));

describe('rows whose last_updated is off the source clock', () => {
  it('are those after the pass’s upper bound by more than the look-back, or not a time the contract can write', () => {
    const rows = findOffClockRows(
      page(
        [1, '2024-11-15T14:40:00'],
        [2, '2024-11-15T14:55:00'], // exactly upper + look-back: still on the clock
        [3, '2024-11-15T14:55:00.000001'],
        [4, '2034-01-01T00:00:00'],
        [5, 'infinity'],
        [6, '12000-01-01T00:00:00'],
        [7, '-infinity'],
        [8, '0044-03-15T00:00:00 BC'],
        [9, '0044-03-15T00:00:00'],
      ),
      scan,
    );

    expect(rows.map((r) => [r.id, r.column, r.value])).toEqual([
      [3, 'last_updated', '2024-11-15T14:55:00.000001'],
      [4, 'last_updated', '2034-01-01T00:00:00'],
      [5, 'last_updated', 'infinity'],
      [6, 'last_updated', '12000-01-01T00:00:00'],
      [7, 'last_updated', '-infinity'],
      [8, 'last_updated', '0044-03-15T00:00:00 BC'],
    ]);
    expect(rows.map((r) => r.reason)).toEqual([...Array<unknown>(4).fill(expect.stringContaining('after the source clock')), 'before year 1', 'before year 1']);
  });

  it('only a page whose last key is beyond the clock is scanned (keys are in order; an off-range key is after all)', () => {
    const limit = clockLimit(scan);

    expect(mayHoldOffClockRows('2024-11-15T14:55:00', limit)).toBe(false);
    expect(mayHoldOffClockRows('2024-11-15T14:55:00.000001', limit)).toBe(true);
    expect(mayHoldOffClockRows(OFF_RANGE_LAST_UPDATED, limit)).toBe(true);
    expect(mayHoldOffClockRows(undefined, limit)).toBe(false);
  });
});
