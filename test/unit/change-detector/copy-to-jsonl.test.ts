import { CopyFormatError, CopyToJsonl, type CopyColumn, type RowMeta } from '@totes/shared/source/copy-to-jsonl';

/**
 * COPY's text format in, the raw zone's JSON Lines out: every value kind, every escape, NULL,
 * rows split anywhere across chunks, the meta column.
 */
const COLUMNS: CopyColumn[] = [
  { name: 'id', kind: 'int' },
  { name: 'amount', kind: 'numeric' },
  { name: 'last_updated', kind: 'timestamp' },
  { name: 'paid', kind: 'boolean' },
  { name: 'name', kind: 'text' },
];

function convert(copyText: string, options: { hasMeta?: boolean; chunk?: number; onMeta?: (m: RowMeta) => void; layout?: 'objects' | 'arrays'; output?: Buffer } = {}) {
  const converter = new CopyToJsonl(
    { columns: COLUMNS, lastUpdatedIndex: 2, idIndex: 0, hasMeta: options.hasMeta ?? false, onMeta: options.onMeta, layout: options.layout },
    options.output ?? 16,
  );
  const bytes = Buffer.from(copyText, 'utf8');
  const size = options.chunk ?? bytes.length;
  for (let i = 0; i < bytes.length; i += size) converter.push(bytes.subarray(i, i + size));
  const out = converter.finish();
  return { ...out, text: out.body.toString('utf8') };
}

describe('COPY text to JSON Lines', () => {
  it('writes ints as numbers, numerics as exact decimal strings, timestamps with T, booleans, text as strings', () => {
    const out = convert('1\t123456789012345678901234.123456789\t2024-11-15 14:39:58.011\tt\tplain\n2\t-0.5\t2024-11-15 14:39:58\tf\tx\n');

    expect(out.text).toBe(
      '{"id":1,"amount":"123456789012345678901234.123456789","last_updated":"2024-11-15T14:39:58.011","paid":true,"name":"plain"}\n' +
        '{"id":2,"amount":"-0.5","last_updated":"2024-11-15T14:39:58","paid":false,"name":"x"}\n',
    );
    expect(out.rows).toBe(2);
    expect(out.last).toEqual({ lastUpdated: '2024-11-15T14:39:58', id: 2 });
  });

  it('writes timestamps the contract cannot carry as PostgreSQL’s JSON does: only the first space becomes T', () => {
    const out = convert('1\t1\tinfinity\tt\ta\n2\t1\t-infinity\tt\tb\n3\t1\t0044-03-15 00:00:00 BC\tt\tc\n4\t1\t12000-01-01 00:00:00.5\tt\td\n', { layout: 'arrays' });

    // to_json of the same timestamps in PostgreSQL 17: "infinity", "-infinity", "0044-03-15T00:00:00 BC", "12000-01-01T00:00:00.5".
    expect(out.text).toBe('[1,"1","infinity",true,"a"]\n[2,"1","-infinity",true,"b"]\n[3,"1","0044-03-15T00:00:00 BC",true,"c"]\n[4,"1","12000-01-01T00:00:00.5",true,"d"]\n');
    expect(out.last).toEqual({ lastUpdated: '12000-01-01T00:00:00.5', id: 4 });
  });

  it('turns COPY escapes into JSON escapes, so every text value parses back exactly', () => {
    // COPY writes backslash as \\, BS FF LF CR TAB VT as \b \f \n \r \t \v, other bytes as they are.
    const copied = 'a\\\\b \\b\\f\\n\\r\\t\\v "q" \u0001 \u001f é 😀 \\\\N';
    const out = convert(`1\t1\t2024-01-01 00:00:00\tt\t${copied}\n`);

    const row = JSON.parse(out.text) as { name: string };
    expect(row.name).toBe('a\\b \b\f\n\r\t\u000b "q" \u0001 \u001f é 😀 \\N');
    // As PostgreSQL's escape_json writes them.
    expect(out.text).toContain('\\u000b \\"q\\" \\u0001 \\u001f');
  });

  it('writes NULL (\\N) as null in every kind of column', () => {
    const out = convert('1\t\\N\t2024-01-01 00:00:00\t\\N\t\\N\n');

    expect(JSON.parse(out.text)).toEqual({ id: 1, amount: null, last_updated: '2024-01-01T00:00:00', paid: null, name: null });
  });

  it('gives the same output however the rows are split across chunks', () => {
    const text = '1\t1.5\t2024-01-01 00:00:00.5\tt\tone\\ttab\n22\t\\N\t2024-01-02 00:00:00\tf\t\\N\n333\t3\t2024-01-03 00:00:00.000003\tt\tthree\n';
    const whole = convert(text);

    for (let chunk = 1; chunk < text.length; chunk++) expect(convert(text, { chunk }).text).toBe(whole.text);
    expect(convert(text, { chunk: 7 }).last).toEqual({ lastUpdated: '2024-01-03T00:00:00.000003', id: 333 });
  });

  it('reads the meta column without writing it: late rows and flagged transaction ids, with the row key', () => {
    const seen: RowMeta[] = [];
    const out = convert('1\t1\t2024-01-01 00:00:00\tt\ta\t\\N\n2\t1\t2024-01-02 00:00:00\tt\tb\t1:\n3\t1\t2024-01-03 00:00:00\tt\tc\t0:4294967301\n', {
      hasMeta: true,
      chunk: 5,
      onMeta: (m) => seen.push(m),
    });

    expect(out.text.split('\n')[0]).toBe('{"id":1,"amount":"1","last_updated":"2024-01-01T00:00:00","paid":true,"name":"a"}');
    expect(seen).toEqual([
      { key: { lastUpdated: '2024-01-02T00:00:00', id: 2 }, late: true, xid: undefined },
      { key: { lastUpdated: '2024-01-03T00:00:00', id: 3 }, late: false, xid: '4294967301' },
    ]);
  });

  it('refuses output that does not have the expected columns or ends mid-row', () => {
    expect(() => convert('1\t2\t2024-01-01 00:00:00\tt\n')).toThrow(CopyFormatError);
    expect(() => convert('1\t2\t2024-01-01 00:00:00\tt\tx\textra\n')).toThrow(CopyFormatError);
    expect(() => convert('1\t2\t2024-01-01 00:00:00\tt\tx')).toThrow('ends in the middle of a row');
  });

  it('arrays layout: the same value bytes, in column order, without the names', () => {
    const text = '1\t123456789012345678901234.123456789\t2024-11-15 14:39:58.011\tt\tplain "q" \\t\\v\n2\t\\N\t2024-11-15 14:39:58\t\\N\t\\N\n';

    const arrays = convert(text, { layout: 'arrays', chunk: 5 });
    const objects = convert(text, { layout: 'objects' });

    expect(arrays.text).toBe('[1,"123456789012345678901234.123456789","2024-11-15T14:39:58.011",true,"plain \\"q\\" \\t\\u000b"]\n[2,null,"2024-11-15T14:39:58",null,null]\n');
    const names = COLUMNS.map((c) => c.name);
    const asObjects = arrays.text
      .trimEnd()
      .split('\n')
      .map((l) => Object.fromEntries((JSON.parse(l) as unknown[]).map((v, i) => [names[i], v])));
    expect(asObjects).toEqual(objects.text.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown));
    expect(arrays).toMatchObject({ rows: 2, last: { lastUpdated: '2024-11-15T14:39:58', id: 2 } });
  });

  it('writes into a buffer it is given, and grows past it by copying when a page needs more', () => {
    const given = Buffer.alloc(1 << 10);
    const small = convert('1\t1\t2024-01-01 00:00:00\tt\tx\n', { output: given, layout: 'arrays' });
    expect(small.buffer).toBe(given);
    expect(small.text).toBe('[1,"1","2024-01-01T00:00:00",true,"x"]\n');

    const long = 'y'.repeat(5000);
    const big = convert(`1\t1\t2024-01-01 00:00:00\tt\t${long}\n`, { output: Buffer.alloc(64), layout: 'arrays' });
    expect(big.buffer.length).toBeGreaterThan(5000);
    expect(big.text).toBe(`[1,"1","2024-01-01T00:00:00",true,"${long}"]\n`);
  });

  it('an empty COPY is an empty page with no last key', () => {
    expect(convert('')).toMatchObject({ rows: 0, text: '', last: undefined });
  });
});
