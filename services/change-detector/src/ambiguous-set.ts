import { createHash } from 'node:crypto';
import type { ObjectStore } from '@totes/shared/aws/objects';
import type { SourceTableName } from '@totes/shared/source/tables';
import type { AmbiguousMember, AmbiguousSet } from '@totes/shared/state/watermark-store';
import { passAmbiguousKeyFor, shortDigest } from './naming';
import { toMicros } from './source-time';

/**
 * The ambiguous set (docs/change-detection.md, "Why the ambiguous set"): row versions already
 * emitted whose transaction id is at or above the last pass's snapshot xmin, so that the xmin test
 * alone cannot tell the next pass they were emitted. A version is identified by (id, xid): one
 * transaction leaves at most one visible version of a row.
 */
export const INLINE_AMBIGUOUS_LIMIT = 1_000;

const memberKey = (m: AmbiguousMember) => `${m.id}:${m.xid}`;

export function encodeMembers(members: readonly AmbiguousMember[]): Buffer {
  return Buffer.from(JSON.stringify({ members: members.map((m) => [m.id, m.lastUpdated, m.xid]) }));
}

export function decodeMembers(bytes: Uint8Array, where: string): AmbiguousMember[] {
  const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as { members?: unknown };
  if (!Array.isArray(parsed.members)) throw new Error(`${where} holds no ambiguous members`);
  return parsed.members.map((entry: unknown) => {
    const [id, lastUpdated, xid] = entry as [unknown, unknown, unknown];
    if (typeof id !== 'number' || typeof lastUpdated !== 'string' || typeof xid !== 'string') throw new Error(`${where} holds a malformed member`);
    return { id, lastUpdated, xid };
  });
}

/** Union without duplicates, in a stable order (so equal sets serialise to equal bytes). */
export function mergeMembers(...lists: ReadonlyArray<readonly AmbiguousMember[]>): AmbiguousMember[] {
  const byKey = new Map<string, AmbiguousMember>();
  for (const list of lists) for (const m of list) byKey.set(memberKey(m), m);
  return [...byKey.values()].sort((a, b) => a.id - b.id || (BigInt(a.xid) < BigInt(b.xid) ? -1 : BigInt(a.xid) > BigInt(b.xid) ? 1 : 0));
}

/**
 * What a completed pass keeps: versions the next pass could still read (last_updated above the next
 * window's lower bound) that the xmin test cannot exclude (xid at or above this pass's xmin).
 */
export function keepForNextPass(members: readonly AmbiguousMember[], passXmin: string, nextLower: string): AmbiguousMember[] {
  const xmin = BigInt(passXmin);
  const lower = toMicros(nextLower);
  return members.filter((m) => BigInt(m.xid) >= xmin && toMicros(m.lastUpdated) > lower);
}

export async function loadAmbiguousSet(set: AmbiguousSet | undefined, objects: ObjectStore): Promise<AmbiguousMember[]> {
  if (!set) return [];
  if (set.members) return [...set.members];
  if (set.object) return decodeMembers(await objects.get(set.object.bucket, set.object.key), `s3://${set.object.bucket}/${set.object.key}`);
  return [];
}

export async function storeAmbiguousSet(
  members: readonly AmbiguousMember[],
  where: { table: SourceTableName; passId: string; bucket: string; inlineLimit: number },
  objects: ObjectStore,
): Promise<AmbiguousSet> {
  if (members.length <= where.inlineLimit) return { count: members.length, members: [...members] };
  const body = encodeMembers(members);
  const key = passAmbiguousKeyFor(where.table, where.passId, shortDigest(createHash('sha256').update(body).digest('hex')));
  await objects.putImmutable(where.bucket, key, body, { contentType: 'application/json' });
  return { count: members.length, object: { bucket: where.bucket, key } };
}
