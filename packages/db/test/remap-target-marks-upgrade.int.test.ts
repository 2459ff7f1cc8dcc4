import { Client } from 'pg';
import { migrate } from '@octo-sync/db';
import { databaseUrl, dropDatabase, migrateBefore, uniqueDatabaseName } from '@octo-sync/testkit';

/**
 * A database upgraded to `key_inherited_at` marks the products that took a key before the column
 * existed, as the audit trail tells: a remap's target that still holds the key the remap gave it.
 */
describe('migration: remap targets are marked from the audit trail', () => {
  const name = uniqueDatabaseName();
  const url = databaseUrl(name);
  afterAll(() => dropDatabase(name));

  it('marks a product holding the key a remap gave it, and no other', async () => {
    const upgrade = await migrateBefore(url, 'remap_target_marks');
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO integrations (partner_id, base_url, auth_type, auth_key_encrypted, handles_ticket_delivery, is_approved, webhook_secret_hash)
         VALUES ('p-marks', 'https://octo.example.com', 'bearer', 'x', false, true, 'x') RETURNING id`,
      );
      const integrationId = rows[0]!.id;
      const keys = (
        await client.query<{ octo_id: string; key: string }>(
          `INSERT INTO products (integration_id, octo_id, raw, content_hash) SELECT $1::uuid, id, '{}', 'x' FROM unnest(ARRAY['took', 'handed-on', 'plain']) id RETURNING octo_id, key::text`,
          [integrationId],
        )
      ).rows;
      const keyOf = (octoId: string) => keys.find((k) => k.octo_id === octoId)!.key;
      // `took` holds the key its remap gave it; `handed-on` took one and handed it on since (a fresh key).
      await client.query(
        `INSERT INTO integration_events (integration_id, type, actor, details) VALUES
           ($1::uuid, 'product_remapped', 'system', jsonb_build_object('from', 'gone-1', 'to', 'took', 'key', $2::text, 'by', 'sync')),
           ($1::uuid, 'product_remapped', 'admin-1', jsonb_build_object('from', 'gone-2', 'to', 'handed-on', 'key', gen_random_uuid()::text, 'by', 'admin'))`,
        [integrationId, keyOf('took')],
      );

      expect((await migrate({ databaseUrl: url })).applied).toContain(upgrade);

      const marked = await client.query<{ octo_id: string }>(`SELECT octo_id FROM products WHERE key_inherited_at IS NOT NULL`);
      expect(marked.rows).toEqual([{ octo_id: 'took' }]);
    } finally {
      await client.end();
    }
  });
});
