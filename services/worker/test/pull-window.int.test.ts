import { createHash } from 'node:crypto';
import type { SyncRun } from '@octo-sync/db';
import { availabilityApplyJob, availabilityPullJob, slotTimeBounds, type SlotChange } from '@octo-sync/jobs';
import { generateCatalog, SlotCalendar } from '@octo-sync/testkit';
import { snapshotOf } from '../src/availability/pull-answer';
import { pullWindow } from '../src/availability/pull-window';
import { startHarness, type Harness } from './harness';

/**
 * A pull costs its window, not the history: it reads and closes only the option's slots whose
 * local date is in its window, writes only slots whose content hash or listing changed, and an
 * answer with the bytes of the last one (nothing written in the window since) moves the pull mark
 * alone; `confirmed_at` moves with it.
 */
describe('a pull reads and writes its window only', () => {
  let h: Harness;
  let integrationId: string;
  const catalog = generateCatalog({ products: 1, options: 2, units: 1, seed: 21 });
  const product = catalog[0]!;
  const [option, neighbour] = [product.options[0]!, product.options[1]!];
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
  // Tomorrow and the next two days (UTC): inside the window in any product time zone.
  const calendar = SlotCalendar.generate({ products: catalog, start: day(1), days: 3, times: ['09:00', '14:00'], offset: '+00:00' });
  const inWindow = calendar.list(product.id, option.id).length;
  /** Ten times the window's slots, stored outside it: the past six days and from 40 days ahead. */
  const history = [...Array.from({ length: 6 }, (_v, i) => day(-1 - i)), ...Array.from({ length: 24 }, (_v, i) => day(40 + i))].flatMap((d) => [`${d}T09:00:00+00:00`, `${d}T14:00:00+00:00`]);

  async function pull(scope: { productId?: string; optionId?: string; from?: string; to?: string } = {}): Promise<SyncRun> {
    const { runId } = await h.db.runs.requestRun(integrationId, 'refresh', { kind: 'availability_pull' });
    const outcome = await h.producer.waitFor(await h.producer.enqueue(availabilityPullJob, { integrationId, runId, ...scope }), 60_000);
    if (outcome.state !== 'completed') throw new Error(`pull ${runId} ended ${outcome.state}`);
    return (await h.db.runs.findRun(runId))!;
  }

  /** Each stored slot's row version (`xmin`) by availability id, of `optionId`. */
  async function versions(optionId = option.id): Promise<Map<string, string>> {
    const { rows } = await h.db.pool.query<{ id: string; x: string }>(
      'SELECT availability_id AS id, xmin::text AS x FROM availability_slots WHERE integration_id = $1::uuid AND option_octo_id = $2',
      [integrationId, optionId],
    );
    return new Map(rows.map((r) => [r.id, r.x]));
  }
  const written = (before: Map<string, string>, after: Map<string, string>) => [...after].filter(([id, x]) => before.get(id) !== x).map(([id]) => id);

  /** Stores open slots of `option` at `starts`, as a push received long ago would have left them. */
  async function store(starts: readonly string[]): Promise<void> {
    await h.db.pool.query(
      `INSERT INTO availability_slots (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id, local_date_time_start, starts_at,
         status, vacancies, capacity, raw, order_key, order_source, last_received, last_push_received)
       SELECT $1::uuid, slot_option_key($1::uuid, $2, $3), slot_date_of(s), $2, $3, s, s, s::timestamptz, 'AVAILABLE', 4, 4, jsonb_build_object('id', s), 1, 'received_at', 1, 1 FROM unnest($4::text[]) s`,
      [integrationId, product.id, option.id, starts],
    );
  }

  const mark = async () =>
    (await h.db.pool.query<{ answer_key: string; digest: string | null; x: string; date_from: string; date_to: string }>(
      'SELECT answer_key::text, digest, xmin::text AS x, date_from, date_to FROM availability_pull_marks WHERE integration_id = $1::uuid AND option_octo_id = $2',
      [integrationId, option.id],
    )).rows[0]!;

  beforeAll(async () => {
    h = await startHarness();
    integrationId = await h.createIntegration();
    // One tier of 30 days: the whole window this test reads and writes.
    await h.db.integrations.update(integrationId, { availabilityPull: { daysAhead: 30 } });
    h.supplier.setCatalog(catalog);
    h.supplier.setAvailability(calendar);
    await h.sync(integrationId);
    expect((await pull()).counts).toMatchObject({ slots: { created: inWindow * 2 } });
    await store(history);
  });
  afterAll(() => h.close());

  it('reconciles an answer reading the window’s slots only, however many the option stores outside it', async () => {
    const product_ = (await h.db.pulls.targets(integrationId, { optionId: option.id }))[0]!;
    const window = pullWindow(product_.timeZone, 30, new Date());
    const body = Buffer.from(JSON.stringify(calendar.list(product.id, option.id)));
    const snapshot = snapshotOf({ productId: product.id, optionId: option.id, ...window, answerKey: BigInt(Date.now()) * 1_000_000n }, { body, digest: 'd' }, slotTimeBounds(Date.now(), 7), []);
    const client = await h.db.pool.connect();
    // The backend's counts of rows read and written in the slot table, as Postgres counts them while
    // they happen; they include its earlier transactions not reported yet, but none is reported
    // within a transaction, so two readings in one transaction differ by its own work.
    const touched = async () => {
      const { rows } = await client.query<{ read: string; written: string }>(
        `SELECT sum(seq_tup_read + coalesce(idx_tup_fetch, 0)) AS read, sum(n_tup_ins + n_tup_upd) AS written FROM pg_stat_xact_user_tables s
         JOIN pg_inherits i ON i.inhrelid = s.relid WHERE i.inhparent = 'availability_slots'::regclass`,
      );
      return { read: Number(rows[0]!.read), written: Number(rows[0]!.written) };
    };
    try {
      await client.query('BEGIN');
      const before = await touched();
      await h.db.pulls.reconcile(client, integrationId, [snapshot]);
      const after = await touched();
      // The window's stored slots are read twice at most (listed, unlisted; the mark's window digest is the answer's), the
      // history never.
      const stored = await h.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM availability_slots WHERE integration_id = $1::uuid AND option_octo_id = $2 AND left(local_date_time_start, 10) BETWEEN $3 AND $4`,
        [integrationId, option.id, window.from, window.to],
      );
      expect(after.read - before.read).toBeLessThanOrEqual(2 * stored.rows[0]!.n);
      expect(after.written - before.written).toBe(0);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('closes only the window’s unlisted slots and leaves every slot outside it as it was', async () => {
    const ghost = `${day(2)}T11:00:00+00:00`;
    await store([ghost]);
    const before = await versions();
    const run = await pull();
    expect(run.counts).toMatchObject({ slots: { created: 0, updated: 0, closed: 1, unchanged: inWindow * 2 } });
    expect(written(before, await versions())).toEqual([ghost]);
    const closed = await h.db.prisma.availabilitySlot.count({ where: { integrationId, removedAt: { not: null } } });
    expect(closed).toBe(1);
  });

  it('an unchanged answer writes no slot row, only its pull mark, and confirmed_at moves', async () => {
    const before = [await versions(), await versions(neighbour.id)];
    const markBefore = await mark();
    const answer = JSON.stringify(calendar.answer({ productId: product.id, optionId: option.id, localDateStart: '0000-01-01', localDateEnd: '9999-12-31' }));
    expect(markBefore.digest).toBe(createHash('sha256').update(answer).digest('hex'));
    const confirmedBefore = (await h.db.catalogRead.listSlots(integrationId, { optionId: option.id, pageSize: 100, page: 1 })).items;
    const events = await h.db.prisma.changeEvent.count({ where: { integrationId } });
    const run = await pull();
    expect(run.counts).toMatchObject({ slots: { created: 0, updated: 0, closed: 0, unchanged: inWindow * 2 } });
    expect([await versions(), await versions(neighbour.id)]).toEqual(before);
    const markAfter = await mark();
    expect(markAfter.x).not.toBe(markBefore.x);
    expect(BigInt(markAfter.answer_key)).toBeGreaterThan(BigInt(markBefore.answer_key));
    expect(await h.db.prisma.changeEvent.count({ where: { integrationId } })).toBe(events);
    const confirmedAfter = (await h.db.catalogRead.listSlots(integrationId, { optionId: option.id, pageSize: 100, page: 1 })).items;
    const listed = new Set(calendar.list(product.id, option.id).map((s) => s.id));
    for (const slot of confirmedAfter.filter((s) => listed.has(s.availability_id))) {
      const was = confirmedBefore.find((s) => s.availability_id === slot.availability_id)!;
      expect(slot.updated_at).toEqual(was.updated_at);
      expect(slot.confirmed_at.getTime()).toBeGreaterThan(was.confirmed_at.getTime());
    }
    // The history is in no window: its confirmation is its last write.
    const past = confirmedAfter.find((s) => s.availability_id === history[0]);
    expect(past?.confirmed_at).toEqual(past?.updated_at);
  });

  it('a changed price writes exactly that slot', async () => {
    const target = calendar.list(product.id, option.id)[1]!;
    calendar.update(product.id, option.id, target.id, { pricing: { retail: 4500, currency: 'EUR' } });
    const before = await versions();
    const run = await pull();
    expect(run.counts).toMatchObject({ slots: { created: 0, updated: 1, closed: 0 } });
    expect(written(before, await versions())).toEqual([target.id]);
    const stored = await h.db.prisma.availabilitySlot.findFirstOrThrow({ where: { integrationId, availabilityId: target.id, optionOctoId: option.id } });
    expect(stored.raw).toMatchObject({ pricing: { retail: 4500 } });
  });

  it('a push into the window since the last answer makes the same answer reconcile in full, and the pull wins where it is newer', async () => {
    const target = calendar.list(product.id, option.id)[2]!;
    const change: SlotChange = { productId: product.id, optionId: option.id, availabilityId: target.id, localDateTimeStart: target.id, status: 'LIMITED', vacancies: 1, capacity: 20, orderSource: 'sequence', orderKey: '1' };
    const job = await h.producer.enqueue(availabilityApplyJob, { integrationId, changes: [{ ...change, receivedKey: (BigInt(Date.now()) * 1_000_000n).toString() }] });
    expect((await h.producer.waitFor(job, 15_000)).state).toBe('completed');
    expect(await h.db.prisma.availabilitySlot.findFirstOrThrow({ where: { integrationId, availabilityId: target.id, optionOctoId: option.id } })).toMatchObject({ vacancies: 1 });
    // The supplier answers the same bytes as before the push, after it: the slot goes back to what it says.
    const run = await pull();
    expect(run.counts).toMatchObject({ slots: { updated: 1 } });
    expect(await h.db.prisma.availabilitySlot.findFirstOrThrow({ where: { integrationId, availabilityId: target.id, optionOctoId: option.id } })).toMatchObject({ vacancies: target.vacancies, status: target.status });
  });

  it('a listed slot stored outside the window is rewritten only when it changed, and an undated slot is never closed', async () => {
    const listed = calendar.list(product.id, option.id);
    const beyond = { ...listed[0]!, id: 'beyond', localDateTimeStart: `${day(50)}T10:00:00+00:00` };
    const undated = { ...listed[0]!, id: 'undated', localDateTimeStart: null };
    const answer = (slots: unknown[]) => h.supplier.behave({ kind: 'status', status: 200, body: JSON.stringify(slots), headers: { 'content-type': 'application/json' }, times: 1 });
    answer([...listed, beyond, undated]);
    expect((await pull({ productId: product.id, optionId: option.id })).counts).toMatchObject({ slots: { created: 2 } });
    expect((await mark()).digest).toBeNull();
    const before = await versions();
    answer([...listed, beyond]);
    const run = await pull({ productId: product.id, optionId: option.id });
    h.supplier.behave(null);
    expect(run.counts).toMatchObject({ slots: { created: 0, updated: 0, closed: 0 } });
    expect(written(before, await versions())).toEqual([]);
    expect(await h.db.prisma.availabilitySlot.findFirstOrThrow({ where: { integrationId, availabilityId: 'undated' } })).toMatchObject({ removedAt: null, localDateTimeStart: null });
  });

  it('a push moving a slot out of the window since the last answer makes the same answer reconcile in full', async () => {
    await pull();
    expect((await mark()).digest).not.toBeNull();
    const target = calendar.list(product.id, option.id)[3]!;
    const moved = `${day(60)}T09:00:00+00:00`;
    const change: SlotChange = { productId: product.id, optionId: option.id, availabilityId: target.id, localDateTimeStart: moved, status: target.status, vacancies: target.vacancies, capacity: target.capacity, orderSource: 'sequence', orderKey: '2' };
    const job = await h.producer.enqueue(availabilityApplyJob, { integrationId, changes: [{ ...change, receivedKey: (BigInt(Date.now()) * 1_000_000n).toString() }] });
    expect((await h.producer.waitFor(job, 15_000)).state).toBe('completed');
    const stored = () => h.db.prisma.availabilitySlot.findFirstOrThrow({ where: { integrationId, availabilityId: target.id, optionOctoId: option.id } });
    expect(await stored()).toMatchObject({ localDateTimeStart: moved });
    // No slot of the window carries a newer key, but the window holds one slot fewer than the mark counted.
    expect((await pull()).counts).toMatchObject({ slots: { updated: 1 } });
    expect(await stored()).toMatchObject({ localDateTimeStart: target.localDateTimeStart });
  });

  it('a narrowed refresh keeps the whole window’s mark: slots outside the narrow window stay confirmed, the narrow answer still applies', async () => {
    await pull();
    const wide = await mark();
    const listed = calendar.list(product.id, option.id);
    const outside = listed.find((s) => s.localDateTimeStart.startsWith(day(1)))!;
    const target = listed.find((s) => s.localDateTimeStart.startsWith(day(3)))!;
    const confirmation = async (id: string) =>
      (await h.db.catalogRead.listSlots(integrationId, { optionId: option.id, pageSize: 100, page: 1 })).items.find((s) => s.availability_id === id)!;
    const before = await confirmation(outside.id);
    expect(before.confirmed_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
    calendar.update(product.id, option.id, target.id, { pricing: { retail: 5100, currency: 'EUR' } });
    const run = await pull({ productId: product.id, optionId: option.id, from: day(3), to: day(3) });
    expect(run.counts).toMatchObject({ slots: { updated: 1 } });
    expect(await h.db.prisma.availabilitySlot.findFirstOrThrow({ where: { integrationId, availabilityId: target.id, optionOctoId: option.id } })).toMatchObject({ raw: { pricing: { retail: 5100 } } });
    expect(await mark()).toMatchObject({ date_from: wide.date_from, date_to: wide.date_to, answer_key: wide.answer_key });
    expect(await confirmation(outside.id)).toEqual(before);
  });

  it('a push that slipped in under an older mark is not confirmed by the same bytes: the next answer reconciles and the pull wins', async () => {
    await pull();
    const before = await mark();
    expect(before.digest).not.toBeNull();
    const target = calendar.list(product.id, option.id)[0]!;
    const stored = () => h.db.prisma.availabilitySlot.findFirstOrThrow({ where: { integrationId, availabilityId: target.id, optionOctoId: option.id } });
    // A push received after the mark's answer (K1) and before the next one (K2), whose statement takes
    // its snapshot (the mark at K1: it passes answeredSince) and then waits on the slot's row lock
    // while the next pull confirms the same bytes, moving the mark to K2; it commits after that.
    const holder = await h.db.pool.connect();
    let push: Promise<unknown> | undefined;
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM availability_slots WHERE integration_id = $1::uuid AND option_octo_id = $2 AND availability_id = $3 FOR UPDATE', [integrationId, option.id, target.id]);
      push = h.db.availability.apply([[{ integration_id: integrationId, product_octo_id: product.id, option_octo_id: option.id, availability_id: target.id, local_date_time_start: null, starts_at: null, status: 'LIMITED', vacancies: 1, capacity: 20, order_key: '100', order_source: 'sequence', received_key: (BigInt(before.answer_key) + 1n).toString(), raw: null }]]);
      await waitForLockWait('%INSERT INTO availability_slots%');
      expect((await pull()).counts).toMatchObject({ slots: { created: 0, updated: 0, closed: 0 } });
      expect(BigInt((await mark()).answer_key)).toBeGreaterThan(BigInt(before.answer_key) + 1n);
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    await push;
    // The push is applied, older than the mark's answer, which said otherwise.
    expect(await stored()).toMatchObject({ vacancies: 1, status: 'LIMITED' });
    // The ordering rule: an answer received after a push wins over it. The same bytes again must
    // reconcile (the stored window is not what the mark's answer said) and put the slot back.
    const run = await pull();
    expect(run.counts).toMatchObject({ slots: { updated: 1 } });
    expect(await stored()).toMatchObject({ vacancies: target.vacancies, status: target.status });
  });

  it('a push that commits between a pull’s reconcile and its mark is not confirmed by the same bytes: the next answer reconciles it', async () => {
    await pull();
    const before = await mark();
    const [changed, pushed] = [calendar.list(product.id, option.id)[1]!, calendar.list(product.id, option.id)[5]!];
    calendar.update(product.id, option.id, changed.id, { pricing: { retail: 4700, currency: 'EUR' } });
    // The reconcile takes its snapshot, then waits for the changed slot's row lock; meanwhile a push
    // received before the pull's answer (the mark still at the last one: it passes) changes a listed
    // slot the reconcile does not write, and commits. The reconcile does not see it; the mark's
    // statement, later in the pull's transaction, does. (A push inserting a new slot cannot commit
    // there: its foreign key check waits for the fence's lock on the integration row.)
    const holder = await h.db.pool.connect();
    let pulled: Promise<SyncRun> | undefined;
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM availability_slots WHERE integration_id = $1::uuid AND option_octo_id = $2 AND availability_id = $3 FOR UPDATE', [integrationId, option.id, changed.id]);
      pulled = pull();
      await waitForLockWait('%WITH s AS%jsonb_to_recordset%');
      await h.db.availability.apply([[{ integration_id: integrationId, product_octo_id: product.id, option_octo_id: option.id, availability_id: pushed.id, local_date_time_start: null, starts_at: null, status: 'LIMITED', vacancies: 2, capacity: 20, order_key: '1000', order_source: 'sequence', received_key: (BigInt(before.answer_key) + 1n).toString(), raw: null }]]);
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    expect((await pulled).counts).toMatchObject({ slots: { updated: 1, closed: 0 } });
    const stored = () => h.db.prisma.availabilitySlot.findFirstOrThrow({ where: { integrationId, availabilityId: pushed.id, optionOctoId: option.id } });
    expect(await stored()).toMatchObject({ vacancies: 2, status: 'LIMITED' });
    // The push was received before that answer, which said otherwise: the same bytes again put it back.
    expect((await pull()).counts).toMatchObject({ slots: { updated: 1 } });
    expect(await stored()).toMatchObject({ vacancies: pushed.vacancies, status: pushed.status });
  });

  /**
   * Resolves once a statement whose text is like `pattern` waits for a lock in this test's database
   * (deadline 30 s). pg_stat_activity keeps only the first 1 KiB of a statement: match its start.
   */
  async function waitForLockWait(pattern: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows } = await h.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`,
        [pattern],
      );
      if (rows[0]!.n > 0) return;
      if (Date.now() > deadline) throw new Error(`no statement like ${pattern} waited for a lock`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
});
