import type { AmbiguousMember } from '@totes/shared/state/watermark-store';
import {
  decodeMembers,
  encodeMembers,
  keepForNextPass,
  loadAmbiguousSet,
  mergeMembers,
  storeAmbiguousSet,
} from '../../../services/change-detector/src/ambiguous-set';
import { MemoryObjectStore } from '../../helpers/memory-ports';

const m = (id: number, lastUpdated: string, xid: string): AmbiguousMember => ({ id, lastUpdated, xid });

describe('the ambiguous set', () => {
  it('keeps for the next pass only versions the xmin test cannot exclude and the next window can still read', () => {
    const members = [m(1, '2024-01-01T00:10:00', '99'), m(2, '2024-01-01T00:10:00', '100'), m(3, '2024-01-01T00:00:00', '150'), m(4, '2024-01-01T00:05:00.000001', '4294967396')];

    expect(keepForNextPass(members, '100', '2024-01-01T00:05:00')).toEqual([members[1], members[3]]);
  });

  it('merges without duplicates, in a stable order', () => {
    expect(mergeMembers([m(2, 'a', '7'), m(1, 'b', '9')], [m(1, 'b', '9'), m(1, 'c', '8')])).toEqual([m(1, 'c', '8'), m(1, 'b', '9'), m(2, 'a', '7')]);
  });

  it('round-trips through its JSON form and refuses anything else', () => {
    const members = [m(1, '2024-01-01T00:00:00.5', '12345678901234')];
    expect(decodeMembers(encodeMembers(members), 'test')).toEqual(members);
    expect(() => decodeMembers(Buffer.from('{"members":[[1,2,3]]}'), 'test')).toThrow('malformed');
  });

  it('stays in the watermark item when small and moves to an object when large', async () => {
    const objects = new MemoryObjectStore();
    const members = [m(1, '2024-01-01T00:00:00', '5'), m(2, '2024-01-01T00:00:00', '6')];
    const where = { table: 'payment' as const, passId: '20240101t000000000000', bucket: 'b' };

    const small = await storeAmbiguousSet(members, { ...where, inlineLimit: 2 }, objects);
    const large = await storeAmbiguousSet(members, { ...where, inlineLimit: 1 }, objects);

    expect(small).toEqual({ count: 2, members });
    expect(large).toEqual({ count: 2, object: { bucket: 'b', key: expect.stringMatching(/^state\/payment\/20240101t000000000000\.[0-9a-f]{12}\.ambiguous\.json$/) } });
    expect(await loadAmbiguousSet(large, objects)).toEqual(members);
    expect(await loadAmbiguousSet(small, objects)).toEqual(members);
    expect(await loadAmbiguousSet(undefined, objects)).toEqual([]);
  });
});
