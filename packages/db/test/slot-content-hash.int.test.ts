import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@octo-sync/testkit';

/**
 * slot_content_hash is the one owner of what a slot's content is; the pull hashes every listed
 * slot with it, so it must cost no more than its expression: Postgres inlines a SQL function only
 * if it is declared no less volatile than what it calls, else each call runs the SQL-function executor.
 */
describe('slot_content_hash', () => {
  let database: TestDatabase;
  let client: Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    client = new Client({ connectionString: database.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  const ROWS = `(VALUES ('2026-12-08T06:00:00+02:00', 'AVAILABLE', 3, 10, '{"id": "a", "price": 1.50}'::jsonb)) AS r(s, st, v, c, raw)`;

  test('is inlined into the statements that call it (the plan shows its expression, not a call)', async () => {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (VERBOSE) SELECT slot_content_hash(r.s, r.st, r.v, r.c, r.raw) FROM ${ROWS}`);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).not.toContain('slot_content_hash');
    expect(plan).toContain('sha256');
  });

  test('is SHA-256 (hex) of the UTF-8 text of [local start, status, vacancies, capacity, raw], raw as stored', async () => {
    const { rows } = await client.query<{ hash: string; expected: string }>(
      `SELECT slot_content_hash(r.s, r.st, r.v, r.c, r.raw) AS hash,
        encode(sha256(convert_to('["2026-12-08T06:00:00+02:00", "AVAILABLE", 3, 10, {"id": "a", "price": 1.50}]', 'UTF8')), 'hex') AS expected FROM ${ROWS}`,
    );
    expect(rows[0]!.hash).toBe(rows[0]!.expected);
  });
});
