import { createDb, type Db, type OptionRow, type ProductRow, type RekeyOutcome, type SliceRows, type UnitRow } from '@octo-sync/db';
import { claimedTestRun, createTestDatabase, createTestIntegration, waitFor, type TestDatabase } from '@octo-sync/testkit';
import { LOCK_OPTION_MARKS } from '../src/availability/pull-marks';

/**
 * Stable keys through real catalog runs (the CatalogRunWriter a sync uses): a product that left
 * and one that appeared with the same non-null reference, unique in both catalogs, are one
 * product re-keyed (its key, its options' and units' keys and its slots move); an ambiguous or
 * missing reference is a remap candidate instead. An admin's remap and link move keys the same way.
 */
describe('stable identity', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'identity-test-key' });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const product = (id: string, reference: string | null): ProductRow => ({
    octo_id: id, internal_name: id, reference, title: `Tour ${id}`, locale: 'en', time_zone: 'Europe/Paris', availability_type: 'START_TIME',
    default_currency: 'EUR', pricing_per: 'UNIT', raw: null, raw_json: JSON.stringify({ id, reference }), content_hash: `h-${id}`,
    raw_hash: `r-${id}`, tree_hash: `t-${id}`, option_count: 1, unit_count: 1,
  });
  const option = (productId: string): OptionRow => ({
    product_octo_id: productId, octo_id: 'DEFAULT', is_default: true, internal_name: null, reference: null, availability_local_start_times: null,
    cancellation_cutoff_amount: null, cancellation_cutoff_unit: null, min_units: null, max_units: null, pricing_from: null, raw: { id: 'DEFAULT' }, content_hash: 'ho',
  });
  const unit = (productId: string): UnitRow => ({
    product_octo_id: productId, option_octo_id: 'DEFAULT', octo_id: 'adult', internal_name: null, reference: null, type: 'ADULT', min_age: null, max_age: null,
    min_quantity: null, max_quantity: null, pax_count: 1, pricing_from: null, raw: { id: 'adult' }, content_hash: 'hu',
  });
  const catalog = (items: Array<[string, string | null]>): SliceRows => ({
    products: items.map(([id, ref]) => product(id, ref)),
    options: items.map(([id]) => option(id)),
    units: items.map(([id]) => unit(id)),
  });

  /** One catalog run of `integrationId` writing `rows` and removing `removed` (with their options and units), as a sync does. */
  async function run(claim: Awaited<ReturnType<typeof claimedTestRun>>, rows: SliceRows, removed: string[]): Promise<RekeyOutcome> {
    const { integration, fence, run } = claim;
    const stored = await db.catalog.loadFingerprints(integration.id);
    // As a worker reads it once it claimed the run.
    const { previousIntegrationId } = (await db.integrations.findLive(integration.id))!;
    const writer = db.catalog.openWriter({ id: run.id, fence, integrationId: integration.id, previousIntegrationId }, stored);
    try {
      await writer.add(rows);
      await writer.seal({
        removedProducts: removed,
        removedOptions: removed.map((p) => ({ product_octo_id: p, octo_id: 'DEFAULT' })),
        removedUnits: removed.map((p) => ({ product_octo_id: p, option_octo_id: 'DEFAULT', octo_id: 'adult' })),
      });
      return await db.runs.withFence(integration.id, fence, async (tx) => {
        const outcome = await writer.merge(tx);
        await writer.publish(tx);
        return outcome;
      }, 30_000);
    } finally {
      await writer.release();
    }
  }

  /** The claimed run is over (the test's runs write through it without finishing it). */
  const settle = (claim: Awaited<ReturnType<typeof claimedTestRun>>) => db.pool.query(`UPDATE sync_runs SET status = 'succeeded', finished_at = now() WHERE id = $1::uuid`, [claim.run.id]);

  /** The keys of a product, its option and unit; undefined when not stored. */
  async function keysOf(integrationId: string, productId: string) {
    const { rows } = await db.pool.query<{ product: string; option: string; unit: string; active: boolean }>(
      `SELECT p.key::text AS product, o.key::text AS option, u.key::text AS unit, p.active FROM products p
       JOIN product_options o ON o.product_id = p.id JOIN units u ON u.option_id = o.id WHERE p.integration_id = $1::uuid AND p.octo_id = $2`,
      [integrationId, productId],
    );
    return rows[0];
  }

  /** A slot of the product's option, stored as pushes store them (its `slot_options` key, undated). */
  async function storeSlot(integrationId: string, productId: string, availabilityId: string): Promise<void> {
    const { rows } = await db.pool.query<{ option_key: string }>(
      `INSERT INTO slot_options (integration_id, product_octo_id, option_octo_id) VALUES ($1::uuid, $2, 'DEFAULT')
       ON CONFLICT (integration_id, product_octo_id, option_octo_id) DO UPDATE SET option_octo_id = excluded.option_octo_id RETURNING option_key::text`,
      [integrationId, productId],
    );
    await db.pool.query(
      `INSERT INTO availability_slots (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id, status, order_key, order_source)
       VALUES ($1::uuid, $2::bigint, 'infinity', $3, 'DEFAULT', $4, 'AVAILABLE', 1, 'received_at')`,
      [integrationId, rows[0]!.option_key, productId, availabilityId],
    );
  }

  /** The products of an integration marked as holding a key they took, by OCTO id. */
  const inherited = async (integrationId: string) =>
    (await db.pool.query<{ octo_id: string }>(`SELECT octo_id FROM products WHERE integration_id = $1::uuid AND key_inherited_at IS NOT NULL ORDER BY 1`, [integrationId])).rows.map((r) => r.octo_id);

  const slotsOf = async (integrationId: string, productId: string) =>
    (await db.pool.query<{ availability_id: string }>(`SELECT availability_id FROM availability_slots WHERE integration_id = $1::uuid AND product_octo_id = $2 ORDER BY 1`, [integrationId, productId])).rows.map((r) => r.availability_id);

  test('a 1:1 re-key by unique reference keeps the keys and moves the slots; an ambiguous or missing reference is a candidate', async () => {
    const claim = await claimedTestRun(db);
    const id = claim.integration.id;
    await run(claim, catalog([['A', 'ref-a'], ['D1', 'dup'], ['D2', 'dup'], ['N', null], ['K', 'ref-k']]), []);
    const before = { A: (await keysOf(id, 'A'))!, D1: (await keysOf(id, 'D1'))!, N: (await keysOf(id, 'N'))!, K: (await keysOf(id, 'K'))! };
    expect(new Set(Object.values(before).flatMap((k) => [k.product, k.option, k.unit])).size).toBe(12);
    await storeSlot(id, 'A', 'slot-1');
    await storeSlot(id, 'A', 'slot-2');

    // A -> A2 (same unique reference); D1 -> D3 while D2 keeps "dup" (not unique); N -> N2 (no reference); K stays.
    const outcome = await run(claim, catalog([['A2', 'ref-a'], ['D2', 'dup'], ['D3', 'dup'], ['N2', null], ['K', 'ref-k']]), ['A', 'D1', 'N']);

    expect(outcome.remapped).toEqual([{ from: 'A', to: 'A2', key: before.A.product, contentHash: 'h-A2' }]);
    expect(outcome.candidates).toEqual(expect.arrayContaining([
      { from: 'D1', reference: 'dup', to: expect.arrayContaining(['D3']), reason: 'ambiguous' },
      { from: 'N', reference: null, to: expect.arrayContaining(['N2']), reason: 'no_reference' },
    ]));
    expect(outcome.candidates).toHaveLength(2);

    const a2 = await keysOf(id, 'A2');
    expect(a2).toEqual({ ...before.A, active: true });
    const a = (await keysOf(id, 'A'))!;
    expect(a.active).toBe(false);
    expect([a.product, a.option, a.unit].some((k) => [before.A.product, before.A.option, before.A.unit].includes(k))).toBe(false);
    expect(await slotsOf(id, 'A2')).toEqual(['slot-1', 'slot-2']);
    expect(await slotsOf(id, 'A')).toEqual([]);
    // Not matched: new rows, new keys; the unchanged product keeps its own.
    expect((await keysOf(id, 'D3'))!.product).not.toBe(before.D1.product);
    expect((await keysOf(id, 'N2'))!.product).not.toBe(before.N.product);
    expect((await keysOf(id, 'K'))!.product).toBe(before.K.product);

    const audit = await db.pool.query(`SELECT type::text, actor, details FROM integration_events WHERE integration_id = $1::uuid AND type = 'product_remapped'`, [id]);
    expect(audit.rows).toEqual([{ type: 'product_remapped', actor: 'system', details: { from: 'A', to: 'A2', key: before.A.product, by: 'sync' } }]);
    expect((await db.identity.candidates(id))!.map((c) => [c.from, c.reason])).toEqual([['D1', 'ambiguous'], ['N', 'no_reference']]);

    const events = await db.pool.query(
      `SELECT type, product_octo_id, key, previous_octo_id FROM change_events WHERE integration_id = $1::uuid AND type IN ('product.remapped', 'product.created') AND product_octo_id IN ('A2', 'K') ORDER BY txn_id, idx`,
      [id],
    );
    expect(events.rows).toEqual([
      { type: 'product.created', product_octo_id: 'K', key: before.K.product, previous_octo_id: null },
      { type: 'product.created', product_octo_id: 'A2', key: before.A.product, previous_octo_id: null },
      { type: 'product.remapped', product_octo_id: 'A2', key: before.A.product, previous_octo_id: 'A' },
    ]);

    // The admin remaps the ambiguous one by hand: D3 takes D1's identity; the candidate is gone.
    expect(await db.identity.remap(id, 'D3', 'D1', 'admin-1')).toEqual({ kind: 'target_not_found' });
    expect(await db.identity.remap(id, 'K', 'D3', 'admin-1')).toEqual({ kind: 'source_active' });
    expect(await db.identity.remap(id, 'D1', 'D3', 'admin-1')).toEqual({ kind: 'remapped', remap: { from: 'D1', to: 'D3', key: before.D1.product, contentHash: 'h-D3' } });
    expect(await keysOf(id, 'D3')).toEqual({ ...before.D1, active: true });
    expect(await db.identity.remap(id, 'D1', 'D3', 'admin-1')).toEqual({ kind: 'already_remapped' });
    // The sync's own re-key handed A's identity on too.
    expect(await db.identity.remap(id, 'A', 'D3', 'admin-1')).toEqual({ kind: 'already_remapped' });
    expect((await db.identity.candidates(id))!.map((c) => c.from)).toEqual(['N']);
  });

  test('keys are per row: a base_url change keeps them', async () => {
    const claim = await claimedTestRun(db);
    const id = claim.integration.id;
    await run(claim, catalog([['P', null]]), []);
    const before = await keysOf(id, 'P');
    await db.integrations.update(id, { baseUrl: 'https://other.example.com/octo' }, 'admin-1');
    expect((await db.integrations.findLive(id))!.baseUrl).toBe('https://other.example.com/octo');
    await run(claim, { ...catalog([['P', null]]), products: [{ ...product('P', null), title: 'renamed', content_hash: 'h-P-2' }] }, []);
    expect(await keysOf(id, 'P')).toEqual(before);
  });

  test('a linked integration takes the keys of the one it replaces, before or after its first sync, once', async () => {
    const old = await claimedTestRun(db);
    await run(old, catalog([['X', null], ['Y', null], ['Z', null]]), []);
    const oldKeys = { X: (await keysOf(old.integration.id, 'X'))!, Y: (await keysOf(old.integration.id, 'Y'))!, Z: (await keysOf(old.integration.id, 'Z'))! };

    // Synced first, then linked: X and Y take their keys at the link; Z, which appears later, at its first run.
    const next = await claimedTestRun(db);
    await run(next, catalog([['X', null], ['Y', null]]), []);
    // Another partner's integration is refused.
    expect(await db.identity.link(next.integration.id, old.integration.id, 'admin-1')).toEqual({ kind: 'other_partner' });
    await db.pool.query(`UPDATE integrations SET partner_id = $2 WHERE id = $1::uuid`, [next.integration.id, old.integration.partnerId]);
    // A run in progress read its integration before the link: refused until it is over.
    expect(await db.identity.link(next.integration.id, old.integration.id, 'admin-1')).toEqual({ kind: 'sync_running' });
    await settle(next);
    expect(await db.identity.link(next.integration.id, old.integration.id, 'admin-1')).toEqual({ kind: 'linked', products: 2 });
    expect(await keysOf(next.integration.id, 'X')).toEqual({ ...oldKeys.X, active: true });
    expect(await keysOf(next.integration.id, 'Y')).toEqual({ ...oldKeys.Y, active: true });
    // They hold keys they took: a remap into one of them is refused.
    expect(await inherited(next.integration.id)).toEqual(['X', 'Y']);
    await run(next, catalog([['X', null], ['Y', null], ['Z', null]]), []);
    expect(await keysOf(next.integration.id, 'Z')).toEqual({ ...oldKeys.Z, active: true });

    expect(await db.identity.link(next.integration.id, old.integration.id, 'admin-1')).toEqual({ kind: 'already_linked' });
    const third = await createTestIntegration(db);
    await db.pool.query(`UPDATE integrations SET partner_id = $2 WHERE id = $1::uuid`, [third, old.integration.partnerId]);
    expect(await db.identity.link(third, old.integration.id, 'admin-1')).toEqual({ kind: 'previous_taken' });
    expect(await db.identity.link(third, '00000000-0000-4000-8000-000000000000', 'admin-1')).toEqual({ kind: 'previous_not_found' });
    expect(await db.identity.link(third, third, 'admin-1')).toEqual({ kind: 'same' });
    const audit = await db.pool.query(`SELECT actor, details FROM integration_events WHERE integration_id = $1::uuid AND type = 'integration_linked'`, [next.integration.id]);
    expect(audit.rows).toEqual([{ actor: 'admin-1', details: { previous: old.integration.id, products: 2 } }]);

    // Linked before its first sync: every product the first run creates takes its key.
    const older = await claimedTestRun(db);
    await run(older, catalog([['Q', null]]), []);
    const q = (await keysOf(older.integration.id, 'Q'))!;
    const fresh = await claimedTestRun(db);
    await db.pool.query(`UPDATE integrations SET partner_id = $2 WHERE id = $1::uuid`, [fresh.integration.id, older.integration.partnerId]);
    await settle(fresh);
    expect(await db.identity.link(fresh.integration.id, older.integration.id, 'admin-1')).toEqual({ kind: 'linked', products: 0 });
    await run(fresh, catalog([['Q', null], ['R', null]]), []);
    expect(await keysOf(fresh.integration.id, 'Q')).toEqual({ ...q, active: true });
    // Its events name the key the product ends with, the one it took (appended after the keys moved).
    const events = await db.pool.query(`SELECT type, key::text FROM change_events WHERE integration_id = $1::uuid AND product_octo_id = 'Q' AND type LIKE 'product.%'`, [fresh.integration.id]);
    expect(events.rows).toEqual([{ type: 'product.created', key: q.product }]);
  });
  test('a product that took an identity is no remap target until it hands it on: the key it took stays', async () => {
    const claim = await claimedTestRun(db);
    const id = claim.integration.id;
    await run(claim, catalog([['A', 'ref-a'], ['X', null], ['Y', null]]), []);
    const before = { A: (await keysOf(id, 'A'))!, X: (await keysOf(id, 'X'))!, Y: (await keysOf(id, 'Y'))! };
    // A -> A2 by the sync (same unique reference); X and Y left beside T, candidates.
    await run(claim, catalog([['A2', 'ref-a'], ['T', null]]), ['A', 'X', 'Y']);
    expect((await db.identity.remap(id, 'X', 'T', 'admin-1')).kind).toBe('remapped');

    // T took X's identity, A2 took A's: Y into either would drop it.
    expect(await db.identity.remap(id, 'Y', 'T', 'admin-1')).toEqual({ kind: 'target_taken' });
    expect(await db.identity.remap(id, 'Y', 'A2', 'admin-1')).toEqual({ kind: 'target_taken' });
    expect(await keysOf(id, 'T')).toEqual({ ...before.X, active: true });
    expect(await keysOf(id, 'A2')).toEqual({ ...before.A, active: true });

    // T leaves and hands X's identity on to U; back in the catalog it holds a fresh key of its own, free to take Y's.
    await run(claim, catalog([['A2', 'ref-a'], ['U', null]]), ['T']);
    expect((await db.identity.remap(id, 'T', 'U', 'admin-1')).kind).toBe('remapped');
    expect(await keysOf(id, 'U')).toEqual({ ...before.X, active: true });
    await run(claim, catalog([['A2', 'ref-a'], ['U', null], ['T', null]]), []);
    expect((await db.identity.remap(id, 'Y', 'T', 'admin-1')).kind).toBe('remapped');
    expect(await keysOf(id, 'T')).toEqual({ ...before.Y, active: true });
  });

  test('a product that took a linked integration\'s key in a run is no 1:1 re-key target in it: a candidate, served without it', async () => {
    const old = await claimedTestRun(db);
    await run(old, catalog([['Y', 'ref-y']]), []);
    const oldY = await keysOf(old.integration.id, 'Y');
    const next = await claimedTestRun(db);
    const id = next.integration.id;
    await run(next, catalog([['X', 'ref-y']]), []);
    const x = await keysOf(id, 'X');
    await db.pool.query(`UPDATE integrations SET partner_id = $2 WHERE id = $1::uuid`, [id, old.integration.partnerId]);
    await settle(next);
    expect(await db.identity.link(id, old.integration.id, 'admin-1')).toEqual({ kind: 'linked', products: 0 });

    // X leaves as Y (same unique reference) and Z appear: Y takes the old integration's key, and keeps it.
    const outcome = await run(next, catalog([['Y', 'ref-y'], ['Z', null]]), ['X']);
    expect(outcome).toEqual({ remapped: [], candidates: [{ from: 'X', reference: 'ref-y', to: ['Y', 'Z'], reason: 'taken' }] });
    expect(await keysOf(id, 'Y')).toEqual(oldY);
    expect(await keysOf(id, 'X')).toEqual({ ...x, active: false });
    // Served without Y, which a remap would refuse.
    expect((await db.identity.candidates(id))!.map((c) => [c.from, c.to, c.reason])).toEqual([['X', ['Z'], 'taken']]);
    expect(await db.identity.remap(id, 'X', 'Y', 'admin-1')).toEqual({ kind: 'target_taken' });
  });

  test('a remap waits for a pull writing the product\'s option, then moves the slots it wrote too', async () => {
    const claim = await claimedTestRun(db);
    const id = claim.integration.id;
    await run(claim, catalog([['OLD', null], ['NEW', null]]), []);
    await run(claim, catalog([['NEW', null]]), ['OLD']);
    await storeSlot(id, 'OLD', 'pushed-1');
    const day = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const start = `${day}T09:00:00+00:00`;

    // A pull of OLD's option is writing (a pull that planned before OLD left): its transaction holds the option's lock.
    const pull = await db.pool.connect();
    try {
      await pull.query('BEGIN');
      await pull.query(LOCK_OPTION_MARKS, [id, JSON.stringify([{ product_octo_id: 'OLD', option_octo_id: 'DEFAULT' }])]);
      let settled = false;
      // Spelled as an admin may type it in the URL: the lock is the option's whatever the spelling.
      const remap = db.identity.remap(id.toUpperCase(), 'OLD', 'NEW', 'admin-1').finally(() => (settled = true));
      // Blocked on the option's lock (or, were it not taken, done already).
      await waitFor('the remap to wait for the pull or finish', async () => settled || (await advisoryWaiters()) > 0);
      await db.pulls.reconcile(pull, id, [{
        productId: 'OLD', optionId: 'DEFAULT', from: day, to: day, answerKey: BigInt(Date.now()) * 1_000_000n,
        slots: [{ availability_id: 'pulled-1', local_date_time_start: start, starts_at: start, status: 'AVAILABLE', vacancies: 3, capacity: 10, raw: null }],
      }]);
      await pull.query('COMMIT');
      expect((await remap).kind).toBe('remapped');
    } finally {
      pull.release();
    }
    expect(await slotsOf(id, 'OLD')).toEqual([]);
    expect(await slotsOf(id, 'NEW')).toEqual(['pulled-1', 'pushed-1']);
  });

  test('a remap behind a pull that keeps the option\'s lock gives up as busy, moving nothing, and goes through once the pull is done', async () => {
    const claim = await claimedTestRun(db);
    const id = claim.integration.id;
    await run(claim, catalog([['OLD', null], ['NEW', null]]), []);
    await run(claim, catalog([['NEW', null]]), ['OLD']);
    const before = { OLD: await keysOf(id, 'OLD'), NEW: await keysOf(id, 'NEW') };
    const pull = await db.pool.connect();
    try {
      await pull.query('BEGIN');
      await pull.query(LOCK_OPTION_MARKS, [id, JSON.stringify([{ product_octo_id: 'NEW', option_octo_id: 'DEFAULT' }])]);
      expect(await db.identity.remap(id, 'OLD', 'NEW', 'admin-1')).toEqual({ kind: 'busy' });
      expect({ OLD: await keysOf(id, 'OLD'), NEW: await keysOf(id, 'NEW') }).toEqual(before);
      await pull.query('COMMIT');
    } finally {
      pull.release();
    }
    expect((await db.identity.remap(id, 'OLD', 'NEW', 'admin-1')).kind).toBe('remapped');
  });

  /** Sessions of this database waiting for an advisory lock. */
  const advisoryWaiters = async () =>
    (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
      WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`)).rows[0]!.n;
});
