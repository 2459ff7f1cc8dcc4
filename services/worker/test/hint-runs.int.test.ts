import { randomBytes } from 'node:crypto';
import { Worker, UnrecoverableError } from 'bullmq';
import type { Integration } from '@octo-sync/db';
import { availabilityPullJobId } from '@octo-sync/jobs';
import { PullRequests } from '@octo-sync/runs';
import { generateCatalog, SlotCalendar, waitFor, type AvailabilityBody } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

/** Runs made by change hints: their pull flight, their claim while hints keep arriving, and which run a hint joins. */
describe('hint runs', () => {
  let h: Harness;
  let pulls: PullRequests;
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
  const WRITE_MS = 60_000;

  beforeAll(async () => {
    h = await startHarness();
    pulls = new PullRequests(h.db, h.producer);
    // No worker: hint runs stay queued until a test claims them itself.
    await h.stopWorker(h.worker);
  });
  afterAll(() => h.close());

  const integration = async (): Promise<Integration> => (await h.db.integrations.findById(await h.createIntegration()))!;
  /** An id as long as the contract allows, random so that it does not compress. */
  const longId = () => randomBytes(128).toString('hex').slice(0, 255);

  it('a hint run’s flight key stays short and fixed however many long targets join it, and its claim pulls them all', async () => {
    const target = await integration();
    const hints = Array.from({ length: 100 }, (_, i) => ({ productId: longId(), optionId: longId(), from: day(1 + (i % 5)), to: day(2 + (i % 5)) }));
    const first = await pulls.hint(target, hints.slice(0, 50), 60_000);
    const joined = await pulls.hint(target, hints.slice(50), 60_000);
    expect(joined).toEqual({ runId: first.runId, created: false });

    const claim = await h.db.runs.claim(first.runId, 60_000);
    if (claim.kind !== 'claimed') throw new Error(`expected a claim, got ${claim.kind}`);
    expect(claim.run.pullScope).toBe(JSON.stringify(['hints']));
    expect(claim.run.hintTargets).toEqual(hints);
    await expect(h.db.runs.withPullFence(claim.run, claim.fence, async () => 'written', WRITE_MS)).resolves.toBe('written');
  });

  it('a hint that joins the run while its claim waits for the flight lock is in the claimed run, whose fence holds', async () => {
    const target = await integration();
    const { runId } = await pulls.hint(target, [{ productId: 'p1', from: day(1), to: day(1) }], 60_000);
    const { pullScope } = (await h.db.runs.findRun(runId))!;
    // Another session holds the run's flight row: the claim waits on it, after reading the run.
    await h.db.pool.query(`INSERT INTO pull_flights (integration_id, scope) VALUES ($1::uuid, $2)`, [target.id, pullScope]);
    const holder = await h.db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM pull_flights WHERE integration_id = $1::uuid AND scope = $2 FOR UPDATE`, [target.id, pullScope]);
      const claiming = h.db.runs.claim(runId, 60_000);
      await waitFor('the claim to wait for the flight lock', async () => {
        const { rows } = await h.db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%sync_run_claim(%'`);
        return rows.length > 0 || undefined;
      }, { timeoutMs: 30_000 });
      expect(await pulls.hint(target, [{ productId: 'p2', from: day(2), to: day(3) }], 60_000)).toEqual({ runId, created: false });
      await holder.query('COMMIT');
      const claim = await claiming;
      if (claim.kind !== 'claimed') throw new Error(`expected a claim, got ${claim.kind}`);
      expect(claim.run.hintTargets).toEqual([{ productId: 'p1', from: day(1), to: day(1) }, { productId: 'p2', from: day(2), to: day(3) }]);
      await expect(h.db.runs.withPullFence(claim.run, claim.fence, async () => 'written', WRITE_MS)).resolves.toBe('written');
    } finally {
      holder.release();
    }
  });

  it('hint runs of an integration are one flight: a run made while another runs waits for it, queued, and takes the hints that come meanwhile', async () => {
    const target = await integration();
    const first = await pulls.hint(target, [{ productId: 'p1', optionId: 'o1', from: day(1), to: day(2) }], 60_000);
    const running = await h.db.runs.claim(first.runId, 60_000);
    expect(running.kind).toBe('claimed');
    // The running run's calls may have started before this hint: it makes a run of its own.
    const next = await pulls.hint(target, [{ productId: 'p1', optionId: 'o1', from: day(1), to: day(2) }], 60_000);
    expect(next.created).toBe(true);
    expect(await h.db.runs.claim(next.runId, 60_000)).toEqual({ kind: 'busy', blockingRunId: first.runId });
    expect(await pulls.hint(target, [{ productId: 'p2', from: day(3), to: day(3) }], 60_000)).toEqual({ runId: next.runId, created: false });
  });

  it('a queued refresh of a product named "hints" is not a hint run: a hint does not join it', async () => {
    const target = await integration();
    const refresh = await pulls.request(target, 'refresh', { productId: 'hints' });
    const hinted = await pulls.hint(target, [{ productId: 'p1', from: day(1), to: day(1) }], 60_000);
    expect(hinted.created).toBe(true);
    expect(hinted.runId).not.toBe(refresh.runId);
    // No worker runs here: the refresh's job would wait for the next test's.
    await refresh.job.remove();
  });

  it('a hint never joins a queued run whose job failed: it makes a run of its own, whose job may run', async () => {
    const target = await integration();
    const dead = await pulls.hint(target, [{ productId: 'p1', from: day(1), to: day(1) }], 0);
    const queue = h.producer.queue('pulls');
    const failer = new Worker(queue.name, null, { connection: queue.opts.connection, prefix: queue.opts.prefix, autorun: false });
    try {
      const token = 'hint-runs-test';
      const job = await waitFor('the hint run’s job', async () => (await failer.getNextJob(token, { block: false })) ?? undefined, { timeoutMs: 30_000 });
      expect(job.id).toBe(availabilityPullJobId(dead.runId));
      await job.moveToFailed(new UnrecoverableError('gave up'), token);
    } finally {
      await failer.close();
    }
    expect(await queue.getJobState(availabilityPullJobId(dead.runId))).toBe('failed');
    expect((await h.db.runs.findRun(dead.runId))!.status).toBe('queued');

    const later = await pulls.hint(target, [{ productId: 'p2', from: day(2), to: day(2) }], 60_000);
    expect(later.created).toBe(true);
    expect(later.runId).not.toBe(dead.runId);
    expect(await queue.getJobState(availabilityPullJobId(later.runId))).toBe('delayed');
    // The next hint joins the live run, not the dead one.
    expect(await pulls.hint(target, [{ productId: 'p3', from: day(3), to: day(3) }], 60_000)).toEqual({ runId: later.runId, created: false });
  });

  it('a product-wide hint and a hint of one of its options pull that option once, over the union of their dates', async () => {
    const catalog = generateCatalog({ products: 1, options: 2, units: 1, seed: 55 });
    const calendar = SlotCalendar.generate({ products: catalog, start: day(1), days: 6, times: ['09:00', '15:00'], offset: '+00:00' });
    const asked: AvailabilityBody[] = [];
    const answer = calendar.answer.bind(calendar);
    calendar.answer = (body) => {
      asked.push(body);
      return answer(body);
    };
    h.supplier.setCatalog(catalog);
    h.supplier.setAvailability(calendar);
    const worker = await h.startWorker();
    try {
      const target = await integration();
      expect(await h.sync(target.id)).toMatchObject({ status: 'succeeded' });
      const [product] = catalog;
      const [o0, o1] = product!.options.map((o) => o.id) as [string, string];
      // Both forms in one run: the product-wide window overlaps the option's, and two hints of o0 overlap each other.
      const { runId } = await pulls.hint(target, [
        { productId: product!.id, from: day(1), to: day(3) },
        { productId: product!.id, optionId: o0, from: day(2), to: day(5) },
        { productId: product!.id, optionId: o0, from: day(4), to: day(6) },
      ], 0);
      const run = await waitFor('the hint run to finish', async () => {
        const found = await h.db.runs.findRun(runId);
        return found?.status === 'succeeded' || found?.status === 'failed' ? found : undefined;
      }, { timeoutMs: 90_000 });
      expect(run).toMatchObject({ status: 'succeeded', errorCode: null });
      expect(asked.map((b) => `${String(b.optionId)} ${String(b.localDateStart)}..${String(b.localDateEnd)}`).sort()).toEqual([`${o0} ${day(1)}..${day(6)}`, `${o1} ${day(1)}..${day(3)}`].sort());
      const { rows } = await h.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM availability_slots WHERE integration_id = $1::uuid AND removed_at IS NULL`, [target.id]);
      // o0 over six days and o1 over three, two slots a day.
      expect(rows[0]!.n).toBe(2 * 6 + 2 * 3);
    } finally {
      await h.stopWorker(worker);
    }
  });
});
