import { SourceSchemaError } from '@totes/shared/errors';
import { compareWithCatalogue, type LiveColumn } from '@totes/shared/source/schema-check';

const currency: LiveColumn[] = [
  { name: 'currency_id', type: 'integer', notNull: true },
  { name: 'currency_code', type: 'character varying', notNull: true },
  { name: 'created_at', type: 'timestamp without time zone', notNull: true },
  { name: 'last_updated', type: 'timestamp without time zone', notNull: true },
];

function problem(live: LiveColumn[] | undefined): SourceSchemaError {
  try {
    compareWithCatalogue('currency', live);
  } catch (err) {
    if (err instanceof SourceSchemaError) return err;
    throw err;
  }
  throw new Error('no problem found');
}

describe('checking a source table against the catalogue', () => {
  it('accepts the catalogue’s columns in any order and reports extra ones, in table order', () => {
    const live = [{ name: 'zeta', type: 'jsonb' }, ...currency.slice().reverse(), { name: 'alpha', type: 'text' }];
    expect(compareWithCatalogue('currency', live).extraColumns.map((c) => c.name)).toEqual(['zeta', 'alpha']);
  });

  it('names the missing table, the missing column, or the column whose type changed', () => {
    expect(problem(undefined)).toMatchObject({ table: 'currency', column: undefined, message: expect.stringMatching(/^The source table currency does not exist/) });
    expect(problem(currency.filter((c) => c.name !== 'currency_code'))).toMatchObject({ table: 'currency', column: 'currency_code' });
    const changed = currency.map((c) => (c.name === 'created_at' ? { ...c, type: 'timestamp with time zone' } : c));
    const nullable = currency.map((c) => (c.name === 'last_updated' ? { ...c, notNull: false } : c));
    expect(problem(nullable)).toMatchObject({ column: 'last_updated', message: expect.stringContaining('allows NULL') });
    expect(problem(changed).message).toBe(
      "The source column currency.created_at is timestamp with time zone, not timestamp without time zone as the pipeline's contract says; detection of currency is stopped until it is changed back.",
    );
  });
});
