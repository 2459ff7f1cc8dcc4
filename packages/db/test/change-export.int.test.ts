import { randomUUID } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { createDb, type Db } from '@octo-sync/db';
import { exportSnapshot } from '@octo-sync/db/src/feed/change-export';
import { appendChanges } from '@octo-sync/db/src/feed/change-outbox';
import { createTestDatabase, type TestDatabase } from '@octo-sync/testkit';
import { productEvent } from './feed-events';

/**
 * Where a snapshot export resumes (docs/architecture.md, "The snapshot export and where it
 * resumes"): a write committed between the export's sequencer and its COPY is visible to the
 * export but not numbered yet; it is numbered past the export's position and read after it.
 */
describe('change feed: the export position and a write not yet numbered', () => {
  let database: TestDatabase;
  let db: Db;
  const integrationId = randomUUID();
  const append = (product: string) => appendChanges((sql, values) => db.pool.query(sql, values), [productEvent(integrationId, product)]);
  const unnumbered = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM change_transactions WHERE first_position IS NULL')).rows[0]!.n;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'change-export-position-key' });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('reads a write committed but not numbered when the export ran after the export position', async () => {
    await append('numbered');
    const first = await db.changes.read(null, 10);
    expect(first).toMatchObject({ kind: 'page', next: '1' });
    // Committed, not numbered: what a writer committing between the export's sequencer and its COPY leaves.
    await append('in-between');
    expect(await unnumbered()).toBe(1);

    const lines = (await text(await exportSnapshot(db.pool, integrationId))).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { kind: string; position?: string });
    const position = lines[0]!.position!;
    expect(position).toBe('1');
    expect(await unnumbered()).toBe(1);

    const after = await db.changes.read(BigInt(position), 10);
    if (after.kind !== 'page') throw new Error(after.kind);
    expect(after.events.map((e) => e.productOctoId)).toEqual(['in-between']);
  });
});
