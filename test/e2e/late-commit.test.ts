import pg from 'pg';
import { createExternalDatabases, type ExternalDatabases } from '../helpers/external';
import { totes } from '../helpers/cli';

/**
 * SPEC §1: a writer stamps last_updated when its transaction starts and may commit minutes later.
 * When another writer changed the same row meanwhile and committed first, the late commit writes an
 * OLDER last_updated over a NEWER version. The source then holds the late writer's row; so must
 * the warehouse: the dimension row, the current fact version and the joined dimension, whatever
 * their last_updated say.
 */
describe('a late commit over a newer version', () => {
  let external: ExternalDatabases;
  let source: ExternalDatabases['source'];
  let warehouse: ExternalDatabases['warehouse'];

  const client = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return c;
  };
  const run = () => totes(['run', '--once', ...external.options]);
  const query = async (url: string, text: string) => {
    const c = await client(url);
    try {
      return (await c.query(text)).rows;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    external = await createExternalDatabases('late', { scale: 0.01, seed: 11 });
    ({ source, warehouse } = external);
  });
  afterAll(async () => {
    await external.dispose();
  });

  it('ends with the late writer\'s rows in dim_design, dim_staff and fact_payment_current', async () => {
    expect(run().code).toBe(0);
    const late = await client(source.url);
    const prompt = await client(source.url);
    try {
      // The late writer's transaction starts: now() is fixed here, and it stamps last_updated with it.
      await late.query('BEGIN');
      await late.query('SELECT now()');
      await new Promise((resolve) => setTimeout(resolve, 20));
      // A prompt writer changes the same rows with a later stamp, commits, and the pipeline loads it.
      const promptStamp = (await prompt.query(`UPDATE design SET design_name = 'Prompt', last_updated = now() WHERE design_id = 1 RETURNING last_updated::text AS t`)).rows[0]?.t as string;
      await prompt.query(`UPDATE staff SET email_address = 'prompt@terrifictotes.com', last_updated = now() WHERE staff_id = 1`);
      await prompt.query(`UPDATE payment SET paid = NOT paid, last_updated = now() WHERE payment_id = 1`);
      expect(run().code).toBe(0);
      expect(await query(warehouse.url, 'SELECT design_name FROM dim_design WHERE design_id = 1')).toEqual([{ design_name: 'Prompt' }]);

      // Then the late writer changes them, with its older stamp, and commits.
      await late.query(`UPDATE design SET design_name = 'Late', last_updated = now() WHERE design_id = 1`);
      await late.query(`UPDATE staff SET first_name = 'Late', last_updated = now() WHERE staff_id = 1`);
      await late.query(`UPDATE payment SET payment_amount = 12.34, last_updated = now() WHERE payment_id = 1`);
      await late.query('COMMIT');
      // The source now holds the late rows, stamped before the versions they replaced.
      expect(await query(source.url, `SELECT design_name, last_updated < '${promptStamp}' AS older FROM design WHERE design_id = 1`)).toEqual([{ design_name: 'Late', older: true }]);
    } finally {
      await late.end();
      await prompt.end();
    }

    const second = run();
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(await query(warehouse.url, 'SELECT design_name FROM dim_design WHERE design_id = 1')).toEqual([{ design_name: 'Late' }]);
    expect(await query(warehouse.url, 'SELECT first_name, email_address FROM dim_staff WHERE staff_id = 1')).toEqual([
      { first_name: 'Late', email_address: 'prompt@terrifictotes.com' },
    ]);
    const [expected] = await query(source.url, 'SELECT payment_amount::text AS amount, paid FROM payment WHERE payment_id = 1');
    expect(expected).toEqual({ amount: '12.34', paid: expect.any(Boolean) });
    expect(await query(warehouse.url, 'SELECT payment_amount::text AS amount, paid FROM fact_payment_current WHERE payment_id = 1')).toEqual([expected]);
  });
});
