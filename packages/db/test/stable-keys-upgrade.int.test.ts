import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { migrate, MIGRATIONS_DIR, splitStatements } from '@octo-sync/db';
import { databaseUrl, dropDatabase, migrateBefore, uniqueDatabaseName } from '@octo-sync/testkit';

/**
 * A database with a catalog stored before stable keys existed is upgraded: every product, option
 * and unit gets a key of its own (backfilled in batches), the columns end NOT NULL, and rows
 * written afterwards get one by default.
 */
describe('migration: stable keys are backfilled on existing catalogs', () => {
  const name = uniqueDatabaseName();
  const url = databaseUrl(name);
  afterAll(() => dropDatabase(name));

  it('gives every existing product, option and unit a distinct key, and new rows one too', async () => {
    const upgrade = await migrateBefore(url, 'stable_keys');
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO integrations (partner_id, base_url, auth_type, auth_key_encrypted, handles_ticket_delivery, is_approved, webhook_secret_hash)
         VALUES ('p-keys', 'https://octo.example.com', 'bearer', 'x', false, true, 'x') RETURNING id`,
      );
      const integrationId = rows[0]!.id;
      // More products than one backfill batch (10,000), each with an option and a unit.
      await client.query(
        `WITH p AS (INSERT INTO products (integration_id, octo_id, raw, content_hash)
           SELECT $1::uuid, 'p-' || g, '{}', 'x' FROM generate_series(1, 10050) g RETURNING id),
         o AS (INSERT INTO product_options (product_id, octo_id, raw, content_hash) SELECT id, 'o', '{}', 'x' FROM p RETURNING id)
         INSERT INTO units (option_id, octo_id, raw, content_hash) SELECT id, 'u', '{}', 'x' FROM o`,
        [integrationId],
      );

      expect((await migrate({ databaseUrl: url })).applied).toContain(upgrade);

      for (const table of ['products', 'product_options', 'units']) {
        const counted = await client.query<{ rows: string; keys: string; missing: string }>(
          `SELECT count(*)::text AS rows, count(DISTINCT key)::text AS keys, count(*) FILTER (WHERE key IS NULL)::text AS missing FROM ${table}`,
        );
        expect({ table, ...counted.rows[0] }).toEqual({ table, rows: '10050', keys: '10050', missing: '0' });
        const column = await client.query<{ is_nullable: string }>(`SELECT is_nullable FROM information_schema.columns WHERE table_name = $1 AND column_name = 'key'`, [table]);
        expect({ table, nullable: column.rows[0]?.is_nullable }).toEqual({ table, nullable: 'NO' });
      }
      const fresh = await client.query<{ key: string | null }>(`INSERT INTO products (integration_id, octo_id, raw, content_hash) VALUES ($1::uuid, 'new', '{}', 'x') RETURNING key::text`, [integrationId]);
      expect(fresh.rows[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
      // Idempotent, as a non-transactional migration must be (a crash mid-way runs it again): its statements again change no key.
      const before = await client.query(`SELECT key FROM products ORDER BY id`);
      for (const statement of splitStatements(readFileSync(join(MIGRATIONS_DIR, upgrade, 'migration.sql'), 'utf8'))) await client.query(statement);
      expect((await client.query(`SELECT key FROM products ORDER BY id`)).rows).toEqual(before.rows);
    } finally {
      await client.end();
    }
  });
});
