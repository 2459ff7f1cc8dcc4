import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createDb, type Db } from '@octo-sync/db';
import { appendChanges, type ChangeEventRow } from '@octo-sync/db/src/feed/change-outbox';
import { sequenceChanges } from '@octo-sync/db/src/feed/change-sequencer';
import { createTestDatabase, waitFor, type TestDatabase } from '@octo-sync/testkit';

const ENTITIES = Array.from({ length: 10 }, (_, i) => `e${String(i).padStart(2, '0')}`);
const WRITERS = 8;
const TRANSACTIONS = 12;

/** A small deterministic generator, so a failure replays. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/**
 * Many writers in separate connections write overlapping entities (a row per entity whose `gen`
 * each write increments, so the order of an entity's gens is the order its writes committed) and
 * append their events: catalog-like bulk writes (every row, then the events in two appends), slot-like writes of two
 * entities, writes that append twice; some hold their transaction open until another commits, some
 * roll back. A registered consumer (its cursor acknowledged on the server) and a second sequencer race them. The consumer must
 * see every committed event exactly once, at dense positions, each entity's events in gen order.
 */
describe('change feed: many concurrent writers and a racing consumer', () => {
  let database: TestDatabase;
  let db: Db;
  const clients: Client[] = [];
  const integrationId = randomUUID();
  let commits = 0;
  let writing = WRITERS;
  let holding = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'change-feed-race-key' });
    await db.pool.query('CREATE TABLE race_entities (key text PRIMARY KEY, gen int NOT NULL)');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await db?.close();
    await database?.drop();
  });

  const event = (key: string, gen: number, bulk: boolean): ChangeEventRow => ({
    integration_id: integrationId,
    type: bulk ? 'product.updated' : 'slot.changed',
    product_octo_id: bulk ? key : 'p',
    option_octo_id: bulk ? null : 'o',
    unit_octo_id: null,
    availability_id: bulk ? null : key,
    content_hash: `${key}#${gen}`,
  });

  /** Writes `keys` (in key order, so writers never deadlock) and returns their events. */
  async function write(client: Client, keys: readonly string[], bulk: boolean): Promise<ChangeEventRow[]> {
    const events: ChangeEventRow[] = [];
    for (const key of [...keys].sort()) {
      const { rows } = await client.query<{ gen: number }>(
        'INSERT INTO race_entities VALUES ($1, 1) ON CONFLICT (key) DO UPDATE SET gen = race_entities.gen + 1 RETURNING gen',
        [key],
      );
      events.push(event(key, rows[0]!.gen, bulk));
    }
    return events;
  }

  /** Until another writer commits, one waits for a row lock, or every writer left is holding too. */
  async function holdOpen(monitor: Client): Promise<void> {
    const seen = commits;
    holding++;
    await waitFor(
      'another writer to commit or to wait for a row lock',
      async () => {
        if (commits > seen || holding >= writing) return true;
        const { rows } = await monitor.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        return rows.length > 0;
      },
      { timeoutMs: 120_000, intervalMs: 5 },
    ).finally(() => holding--);
  }

  async function writer(n: number, committed: ChangeEventRow[]): Promise<void> {
    const [client, monitor] = [new Client({ connectionString: database.url }), new Client({ connectionString: database.url })];
    clients.push(client, monitor);
    await Promise.all([client.connect(), monitor.connect()]);
    const next = random(n + 1);
    const sql = (text: string, values: unknown[]) => client.query(text, values);
    for (let t = 0; t < TRANSACTIONS; t++) {
      const shape = next();
      const keys = ENTITIES.filter(() => next() < (shape < 0.3 ? 0.6 : 0.2)).slice(0, shape < 0.3 ? 6 : 2);
      if (keys.length === 0) keys.push(ENTITIES[Math.floor(next() * ENTITIES.length)]!);
      await client.query('BEGIN');
      let events: ChangeEventRow[];
      if (shape < 0.3) {
        // A catalog run: every row written first, then its events appended in chunks.
        const half = Math.ceil(keys.length / 2);
        events = await write(client, keys, true);
        await appendChanges(sql, events.slice(0, half));
        await appendChanges(sql, events.slice(half));
      } else if (shape < 0.5 && keys.length > 1) {
        events = await write(client, keys.slice(0, 1), false);
        await appendChanges(sql, events);
        const more = await write(client, keys.slice(1), false);
        await appendChanges(sql, more);
        events = [...events, ...more];
      } else {
        events = await write(client, keys, false);
        await appendChanges(sql, events);
      }
      if (n % 2 === 1) await holdOpen(monitor);
      if (next() < 0.15) {
        await client.query('ROLLBACK');
        continue;
      }
      await client.query('COMMIT');
      commits++;
      committed.push(...events);
    }
    writing--;
  }

  it('orders two writes of one entity by when they wrote it, not by when their transactions began', async () => {
    const [early, late] = [new Client({ connectionString: database.url }), new Client({ connectionString: database.url })];
    clients.push(early, late);
    await Promise.all([early.connect(), late.connect()]);
    const sql = (client: Client) => (text: string, values: unknown[]) => client.query(text, values);
    const before = await db.changes.read(null, 1000);
    if (before.kind !== 'page') throw new Error(before.kind);
    // `early` begins and appends first (its header and transaction id are the older), but writes
    // the entity only after `late` committed its own write of it.
    await early.query('BEGIN');
    await appendChanges(sql(early), await write(early, ['order-other'], false));
    await late.query('BEGIN');
    await appendChanges(sql(late), await write(late, ['order-x'], false));
    await late.query('COMMIT');
    await appendChanges(sql(early), await write(early, ['order-x'], false));
    await early.query('COMMIT');
    const page = await db.changes.read(BigInt(before.next), 10);
    if (page.kind !== 'page') throw new Error(page.kind);
    expect(page.events.map((e) => e.contentHash).filter((h) => h.startsWith('order-x'))).toEqual(['order-x#1', 'order-x#2']);
  });

  it('sees every committed event once, at dense positions, each entity in commit order', async () => {
    const start = await db.changes.read(null, 1000);
    if (start.kind !== 'page') throw new Error(start.kind);
    // A registered consumer: its cursor is kept on the server, acknowledged after each page.
    expect(await db.changes.consumers.ack('race', BigInt(start.next))).toMatchObject({ kind: 'acked' });
    const committed: ChangeEventRow[] = [];
    const seen: Array<{ position: string; hash: string }> = [];
    const consume = async () => {
      for (;;) {
        const done = writing === 0;
        const cursor = (await db.changes.consumers.cursor('race'))!.position;
        const page = await db.changes.read(BigInt(cursor), 7);
        if (page.kind !== 'page') throw new Error(`cursor ${cursor}: ${page.kind}`);
        seen.push(...page.events.map((e) => ({ position: e.position, hash: e.contentHash })));
        expect(await db.changes.consumers.ack('race', BigInt(page.next))).toMatchObject({ kind: 'acked' });
        if (done && page.events.length === 0) return;
      }
    };
    const sequencer = async () => {
      while (writing > 0) await sequenceChanges(db.prisma, 3);
    };
    await Promise.all([...Array.from({ length: WRITERS }, (_, n) => writer(n, committed)), consume(), sequencer()]);

    expect(seen.map((e) => e.position)).toEqual(seen.map((_, i) => String(BigInt(start.next) + BigInt(i + 1))));
    expect(seen.map((e) => e.hash).sort()).toEqual(committed.map((e) => e.content_hash).sort());
    const gens = new Map<string, number[]>();
    for (const { hash } of seen) {
      const [key, gen] = hash.split('#') as [string, string];
      gens.set(key, [...(gens.get(key) ?? []), Number(gen)]);
    }
    const stored = (await db.pool.query<{ key: string; gen: number }>('SELECT key, gen FROM race_entities WHERE key = ANY($1)', [ENTITIES])).rows;
    expect(stored.length).toBeGreaterThan(0);
    for (const { key, gen } of stored) expect({ key, gens: gens.get(key) }).toEqual({ key, gens: Array.from({ length: gen }, (_, i) => i + 1) });
  }, 300_000);
});
