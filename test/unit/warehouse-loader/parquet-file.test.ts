import { LoadFileError } from '../../../shared/src/errors';
import { openParquet } from '../../../services/warehouse-loader/src/parquet-file';
import { stagingColumns } from '../../../services/warehouse-loader/src/staging-columns';
import { WAREHOUSE_TABLES, type WarehouseTableName } from '../../../shared/src/warehouse/tables';
import { decodeCopyBinary } from './copy-binary';
import { writeContractParquet, type ContractFileOptions, type ContractRow } from './contract-parquet';

async function copyLines(table: WarehouseTableName, rows: readonly ContractRow[], options?: ContractFileOptions): Promise<string[][]> {
  const columns = stagingColumns(WAREHOUSE_TABLES[table]);
  const file = openParquet(writeContractParquet(table, rows, options), columns, `test ${table}`);
  const blocks: Buffer[] = [];
  for await (const block of file.copyData()) blocks.push(block);
  return decodeCopyBinary(Buffer.concat(blocks), columns);
}

function openBadFile(table: WarehouseTableName, rows: readonly ContractRow[], options: ContractFileOptions) {
  return () => openParquet(writeContractParquet(table, rows, options), stagingColumns(WAREHOUSE_TABLES[table]), `s3://b/k (${table})`);
}

const payment: ContractRow = {
  payment_id: 7,
  created_date: '2022-11-03',
  created_time: '14:20:52.186',
  last_updated_date: '2022-11-03',
  last_updated_time: '14:20:52.186001',
  transaction_id: 7,
  counterparty_id: 15,
  payment_amount: '552548.62',
  currency_id: 2,
  payment_type_id: 3,
  paid: false,
  payment_date: '2022-11-04',
};

describe('reading a processed Parquet file exactly', () => {
  it('formats DECIMAL(24,6) amounts digit for digit, including values no double can hold', async () => {
    const amounts = ['552548.62', '0.000001', '-12.5', '123456789012345678.123456', '99999999999999999.999999', '0', '1000'];
    const lines = await copyLines(
      'fact_payment',
      amounts.map((payment_amount, i) => ({ ...payment, payment_id: i + 1, payment_amount })),
    );
    expect(lines.map((l) => l[7])).toEqual(['552548.62', '0.000001', '-12.50', '123456789012345678.123456', '99999999999999999.999999', '0.00', '1000.00']);
  });

  it('formats DECIMAL(10,2) unit prices exactly', async () => {
    const sale: ContractRow = {
      sales_order_id: 1,
      created_date: '2024-03-31',
      created_time: '08:00:00',
      last_updated_date: '2024-03-31',
      last_updated_time: '08:00:00',
      sales_staff_id: 1,
      counterparty_id: 1,
      units_sold: 42972,
      unit_price: '3.94',
      currency_id: 2,
      design_id: 3,
      agreed_payment_date: '2024-04-08',
      agreed_delivery_date: '2024-04-07',
      agreed_delivery_location_id: 8,
    };
    const prices = ['3.94', '2.10', '99999999.99', '-0.01'];
    const lines = await copyLines(
      'fact_sales_order',
      prices.map((unit_price, i) => ({ ...sale, sales_order_id: i + 1, unit_price })),
    );
    expect(lines.map((l) => l[8])).toEqual(['3.94', '2.10', '99999999.99', '-0.01']);
  });

  it('keeps times to the microsecond and writes dates as ISO dates, with either TIME annotation', async () => {
    for (const legacyAnnotations of [false, true]) {
      const lines = await copyLines(
        'fact_payment',
        [
          { ...payment, created_time: '00:00:00', last_updated_time: '23:59:59.999999' },
          { ...payment, payment_id: 8, created_time: '14:20:52.000001', last_updated_time: '14:20:52.1' },
        ],
        { legacyAnnotations },
      );
      expect(lines.map((l) => [l[1], l[2], l[4]])).toEqual([
        ['2022-11-03', '00:00:00', '23:59:59.999999'],
        ['2022-11-03', '14:20:52.000001', '14:20:52.1'],
      ]);
    }
  });

  it('writes the dimension version stamp as a timestamp with microseconds, NULL as NULL and text byte for byte', async () => {
    const lines = await copyLines('dim_location', [
      {
        location_id: 1,
        address_line_1: 'Tab\there, back\\slash',
        address_line_2: null,
        district: 'New\nline\r',
        city: 'Leds',
        postal_code: 'LS1',
        country: 'Ünited Kingdom',
        phone: '0113 496 0000',
        _version: '2022-11-03 14:20:49.962123',
      },
    ]);
    expect(lines).toEqual([['1', 'Tab\there, back\\slash', '\\N', 'New\nline\r', 'Leds', 'LS1', 'Ünited Kingdom', '0113 496 0000', '2022-11-03 14:20:49.962123']]);
  });

  it('writes booleans', async () => {
    const lines = await copyLines('fact_payment', [payment, { ...payment, payment_id: 9, paid: true }]);
    expect(lines.map((l) => l[10])).toEqual(['false', 'true']);
  });

  it('reads every row of a file with several row groups, in order', async () => {
    const rows = Array.from({ length: 2_500 }, (_, i) => ({ ...payment, payment_id: i + 1 }));
    const lines = await copyLines('fact_payment', rows, { rowGroupSize: 1_000 });
    expect(lines.map((l) => Number(l[0]))).toEqual(rows.map((r) => r.payment_id));
  });
});

describe('what a file holds, gathered while it streams', () => {
  it('counts the distinct values and NULLs of the columns named when opened, and the bounds of an integer one', async () => {
    const rows = [5, 3, 9, 3].map((payment_id) => ({ ...payment, payment_id, _version: '2024-11-15 14:40:00' }));
    const file = openParquet(writeContractParquet('fact_payment', rows), stagingColumns(WAREHOUSE_TABLES.fact_payment), 'test', ['payment_id', '_version', 'payment_date']);
    for await (const block of file.copyData()) expect(block.length).toBeGreaterThan(0);
    expect([file.distinctCount('payment_id'), file.nullCount('payment_id'), file.bounds('payment_id')]).toEqual([3, 0, { min: 3, max: 9 }]);
    expect([file.distinctCount('_version'), file.nullCount('_version')]).toEqual([1, 0]);
    expect(file.distinct('payment_date')).toEqual(['2022-11-04']);
    expect(() => file.bounds('_version')).toThrow(/not an integer column/);
    expect(() => file.nullCount('paid')).toThrow(/was not named/);

    const location = { location_id: 1, address_line_1: 'a', address_line_2: null, district: null, city: 'Leeds', postal_code: 'p', country: 'c', phone: 'x', _version: '2022-11-03 00:00:00' };
    const locations = [location, { ...location, location_id: 2, address_line_2: 'Flat 2' }, { ...location, location_id: 3 }];
    const dimension = openParquet(writeContractParquet('dim_location', locations), stagingColumns(WAREHOUSE_TABLES.dim_location), 'test', ['address_line_2']);
    for await (const block of dimension.copyData()) expect(block.length).toBeGreaterThan(0);
    expect([dimension.distinctCount('address_line_2'), dimension.nullCount('address_line_2')]).toEqual([1, 2]);
  });

  it('counts every row as NULL in an optional column the file lacks', async () => {
    const file = openParquet(writeContractParquet('fact_payment', [payment, { ...payment, payment_id: 8 }], { omit: ['_version'] }), stagingColumns(WAREHOUSE_TABLES.fact_payment), 'test', ['_version']);
    for await (const block of file.copyData()) expect(block.length).toBeGreaterThan(0);
    expect([file.distinctCount('_version'), file.nullCount('_version')]).toEqual([0, 2]);
  });
});

describe('checking a file against its target table', () => {
  it('fails naming a column the file lacks', () => {
    expect(openBadFile('fact_payment', [payment], { omit: ['payment_amount'] })).toThrow(LoadFileError);
    expect(openBadFile('fact_payment', [payment], { omit: ['payment_amount'] })).toThrow(/lacks the column payment_amount/);
  });

  it('fails naming a column the table does not have', () => {
    expect(openBadFile('fact_payment', [payment], { extra: { company_ac_number: ['123'] } })).toThrow(/has the column company_ac_number, which its target table does not have/);
  });

  it('fails naming a column whose type differs from the contract', () => {
    const asDouble = { name: 'payment_amount', type: 'DOUBLE', repetition_type: 'REQUIRED' } as const;
    expect(openBadFile('fact_payment', [{ ...payment, payment_amount: 552548.62 }], { elements: { payment_amount: asDouble } })).toThrow(
      /has the column payment_amount as REQUIRED DOUBLE; the contract needs REQUIRED DECIMAL\(24,6\)/,
    );
  });

  it('fails on a decimal of another scale, which would silently change the values', () => {
    const scale2 = { name: 'payment_amount', type: 'INT64', converted_type: 'DECIMAL', precision: 18, scale: 2, repetition_type: 'REQUIRED' } as const;
    expect(openBadFile('fact_payment', [{ ...payment, payment_amount: 55254862n as unknown as number }], { elements: { payment_amount: scale2 } })).toThrow(
      /payment_amount as REQUIRED INT64 DECIMAL\(18,2\)/,
    );
  });

  it('fails on a millisecond TIME, which cannot carry the source microseconds', () => {
    const millis = { name: 'created_time', type: 'INT32', converted_type: 'TIME_MILLIS', repetition_type: 'REQUIRED' } as const;
    expect(openBadFile('fact_payment', [{ ...payment, created_time: 51652186 }], { elements: { created_time: millis } })).toThrow(/created_time/);
  });

  it('fails on an OPTIONAL column feeding a NOT NULL one', () => {
    const optional = { name: 'city', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' } as const;
    const row = { location_id: 1, address_line_1: 'a', address_line_2: null, district: null, city: 'Leeds', postal_code: 'p', country: 'c', phone: 'x', _version: '2022-11-03 00:00:00' };
    expect(openBadFile('dim_location', [row], { elements: { city: optional } })).toThrow(/city as OPTIONAL BYTE_ARRAY UTF8; the contract needs REQUIRED STRING/);
  });

  it('fails on a dimension file without its version stamp', () => {
    const row = { payment_type_id: 1, payment_type_name: 'SALES_RECEIPT', _version: '2022-11-03 00:00:00' };
    expect(openBadFile('dim_payment_type', [row], { omit: ['_version'] })).toThrow(/lacks the column _version/);
  });

  it('fails on bytes that are not Parquet', () => {
    expect(() => openParquet(new TextEncoder().encode('not parquet at all'), stagingColumns(WAREHOUSE_TABLES.dim_currency), 'x')).toThrow(/not a readable Parquet file/);
  });
});
