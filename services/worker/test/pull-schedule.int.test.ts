import type { SyncRun } from '@octo-sync/db';
import { availabilityTickJob } from '@octo-sync/jobs';
import { PullRequests } from '@octo-sync/runs';
import { generateCatalog, SlotCalendar } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

/** A refresh narrowed to a product, option or dates must not starve the integration's scheduled pulls. */
describe('scheduled pulls beside narrowed refreshes', () => {
  let h: Harness;
  let pulls: PullRequests;
  /** The harness's running worker (tests stop it to keep runs queued, then start another). */
  let worker: Harness['worker'];
  const catalog = generateCatalog({ products: 2, options: 2, units: 1, seed: 24 });
  const start = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start, days: 2, times: ['09:00'], offset: '+00:00' });
  const narrowed = { productId: catalog[0]!.id };

  beforeAll(async () => {
    h = await startHarness();
    h.supplier.setCatalog(catalog);
    h.supplier.setAvailability(calendar);
    pulls = new PullRequests(h.db, h.producer);
    worker = h.worker;
  });
  afterAll(() => h.close());

  async function syncedIntegration() {
    const id = await h.createIntegration();
    await h.sync(id);
    return (await h.db.integrations.findById(id))!;
  }

  async function finished(requested: { runId: string; job: Parameters<Harness['producer']['waitFor']>[0] }): Promise<SyncRun> {
    const outcome = await h.producer.waitFor(requested.job, 60_000);
    if (outcome.state === 'pending') throw new Error(`pull ${requested.runId} did not finish in time`);
    return (await h.db.runs.findRun(requested.runId))!;
  }

  async function tick(): Promise<{ requested: number }> {
    const job = await h.producer.enqueue(availabilityTickJob, {});
    const outcome = await h.producer.waitFor<{ requested: number }>(job, 60_000);
    if (outcome.state !== 'completed') throw new Error(`tick ended ${outcome.state}`);
    return outcome.value;
  }

  it('a narrowed refresh leaves the integration due, and the tick pulls every option', async () => {
    const integration = await syncedIntegration();
    const refresh = await finished(await pulls.request(integration, 'refresh', narrowed));
    expect(refresh).toMatchObject({ status: 'succeeded', pullScope: expect.any(String), counts: { options: { pulled: 2 } } });
    expect((await h.db.pulls.due(new Date())).map((i) => i.id)).toContain(integration.id);

    expect(await tick()).toMatchObject({ requested: 1 });
    const [scheduled] = await h.db.runs.listRuns(integration.id, 1);
    expect(scheduled).toMatchObject({ kind: 'availability_pull', trigger: 'schedule', pullScope: null });
    const job = await h.producer.queue('pulls').getJob(`pull-${scheduled!.id}`);
    expect(job?.data).toEqual({ integrationId: integration.id, runId: scheduled!.id });
    expect(await finished({ runId: scheduled!.id, job: job! })).toMatchObject({ status: 'succeeded', counts: { options: { pulled: 4 } } });
    // A whole pull, once requested, makes it not due: the next tick asks for nothing.
    expect((await h.db.pulls.due(new Date())).map((i) => i.id)).not.toContain(integration.id);
  });

  it('a scheduled pull never joins a narrowed one queued before it, and joins a whole one', async () => {
    const integration = await syncedIntegration();
    // No worker: every run stays queued while the requests arrive.
    await h.stopWorker(worker);
    const refresh = await pulls.request(integration, 'refresh', narrowed);
    const scheduled = await pulls.request(integration, 'schedule');
    expect(scheduled.created).toBe(true);
    expect(scheduled.runId).not.toBe(refresh.runId);
    expect(scheduled.job.data).toEqual({ integrationId: integration.id, runId: scheduled.runId });
    const again = await pulls.request(integration, 'schedule');
    expect(again).toMatchObject({ created: false, runId: scheduled.runId });

    worker = await h.startWorker();
    expect(await finished(refresh)).toMatchObject({ status: 'succeeded', pullScope: expect.any(String), counts: { options: { pulled: 2 } } });
    expect(await finished(scheduled)).toMatchObject({ status: 'succeeded', pullScope: null, counts: { options: { pulled: 4 } } });
  });

  it('a narrowed refresh joins a queued whole pull or one of its own scope, never one narrowed differently', async () => {
    const integration = await syncedIntegration();
    const other = { productId: catalog[1]!.id };
    // No worker: every run stays queued while the requests arrive.
    await h.stopWorker(worker);
    const forA = await pulls.request(integration, 'refresh', narrowed);
    const forB = await pulls.request(integration, 'refresh', other);
    expect(forB.created).toBe(true);
    expect(forB.runId).not.toBe(forA.runId);
    expect(forB.job.data).toMatchObject(other);
    expect(await pulls.request(integration, 'refresh', narrowed)).toMatchObject({ created: false, runId: forA.runId });
    const whole = await pulls.request(integration, 'schedule');
    expect(whole.created).toBe(true);

    worker = await h.startWorker();
    expect(await finished(forA)).toMatchObject({ status: 'succeeded', counts: { options: { pulled: 2 } } });
    expect(await finished(forB)).toMatchObject({ status: 'succeeded', counts: { options: { pulled: 2 } } });
    expect(await finished(whole)).toMatchObject({ status: 'succeeded', counts: { options: { pulled: 4 } } });
    // With only a whole pull queued, a narrowed refresh joins it.
    await h.stopWorker(worker);
    const queuedWhole = await pulls.request(integration, 'schedule');
    expect(await pulls.request(integration, 'refresh', other)).toMatchObject({ created: false, runId: queuedWhole.runId });
    worker = await h.startWorker();
    expect(await finished(queuedWhole)).toMatchObject({ status: 'succeeded', pullScope: null });
  });
});
