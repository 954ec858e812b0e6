import type { SourceTableName } from '@totes/shared/source/tables';

/**
 * Deterministic names. A pass is named after its upper bound (the source clock in its snapshot,
 * which strictly increases from pass to pass of a table), a batch after its pass and page number,
 * an object after its batch and the SHA-256 of its bytes: a retry of the same page reproduces the
 * same names, so it finds (and never duplicates) what an earlier attempt already wrote.
 */
export function passIdFor(upper: string): string {
  // "2024-11-15T14:40:00.123456" → "20241115t144000123456"
  const id = upper.replace(/[-:.]/g, '').toLowerCase();
  if (!/^\d{8}t\d{12}$/.test(id)) throw new TypeError(`cannot name a pass after ${JSON.stringify(upper)}`);
  return id;
}

export function batchIdFor(table: SourceTableName, passId: string, page: number): string {
  return `${table}.${passId}.p${String(page).padStart(4, '0')}`;
}

export function shortDigest(sha256Hex: string): string {
  return sha256Hex.slice(0, 12);
}

/** raw/<table>/date=<date of the page's last last_updated>/<batchId>.<sha-12>.jsonl.gz */
export function rawKeyFor(table: SourceTableName, lastUpdated: string, batchId: string, digest: string): string {
  return `raw/${table}/date=${lastUpdated.slice(0, 10)}/${batchId}.${digest}.jsonl.gz`;
}

/** The ambiguous rows of one page, beside its state: state/<table>/<batchId>.<sha-12>.ambiguous.json */
export function pageAmbiguousKeyFor(table: SourceTableName, batchId: string, digest: string): string {
  return `state/${table}/${batchId}.${digest}.ambiguous.json`;
}

/** The same, derived from a recorded batch's raw key (whose digest names the page's bytes). */
export function pageAmbiguousKeyOfRawKey(table: SourceTableName, rawKey: string): string | undefined {
  const m = /\/([a-z0-9._-]+)\.([0-9a-f]{12})\.jsonl\.gz$/.exec(rawKey);
  return m ? pageAmbiguousKeyFor(table, m[1] as string, m[2] as string) : undefined;
}

/** A completed pass's ambiguous set, when too large for the watermark item. */
export function passAmbiguousKeyFor(table: SourceTableName, passId: string, digest: string): string {
  return `state/${table}/${passId}.${digest}.ambiguous.json`;
}

export function transformQueueFor(table: SourceTableName): string {
  return `transform-${table}`;
}
