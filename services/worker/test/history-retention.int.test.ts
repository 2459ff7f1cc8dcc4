import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { createDb, type Db } from '@octo-sync/db';
import type { JobContext } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { createTestIntegration, createTestDatabase, type TestDatabase } from '@octo-sync/testkit';
import { loadWorkerConfig } from '../src/config';
import { createPruneHistoryHandler, type HistoryRetentionSettings } from '../src/schedules/prune-history.handler';

const log = createLogger({ name: 'history-retention-test', level: 'silent' });
const DAY_MS = 86_400_000;
const NOW = Date.parse('2026-12-07T12:00:00.000Z');
const daysAgo = (days: number): Date => new Date(NOW - days * DAY_MS);
const ctx = { job: { id: 'repeat:history-prune:1' } as Job, token: undefined, signal: undefined, log } satisfies JobContext;

const settings: HistoryRetentionSettings = {
  syncRunDays: 30,
  pullRunDays: 3,
  keepNewestRuns: 3,
  alertDeliveryDays: 90,
  integrationEventDays: 365,
  // Small batches, so the walk crosses many batches and kept rows lie across batch boundaries.
  batch: 4,
  maxBatches: 1_000,
};

describe('history.prune: retention of runs, alert deliveries and the audit trail', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'history-retention-test-key' });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const integration = () => createTestIntegration(db);

  /** Finished runs, one a day, the newest `fromDays` ago. Returns their ids, newest first. */
  async function finishedRuns(integrationId: string, kind: 'catalog' | 'availability_pull', fromDays: number, count: number): Promise<string[]> {
    const rows = Array.from({ length: count }, (_, i) => {
      const finishedAt = daysAgo(fromDays + i);
      return { id: randomUUID(), integrationId, kind, trigger: 'schedule' as const, status: 'succeeded' as const, queuedAt: new Date(finishedAt.getTime() - 60_000), finishedAt };
    });
    await db.prisma.syncRun.createMany({ data: rows });
    return rows.map((r) => r.id);
  }

  const runIds = async (integrationId: string, kind: 'catalog' | 'availability_pull'): Promise<string[]> =>
    (await db.prisma.syncRun.findMany({ where: { integrationId, kind }, orderBy: { queuedAt: 'desc' }, select: { id: true } })).map((r) => r.id);

  it('removes only what is past retention, keeps each integration newest runs of each kind and every unfinished run', async () => {
    const active = await integration();
    const idle = await integration();
    const recentCatalog = await finishedRuns(active, 'catalog', 1, 5);
    await finishedRuns(active, 'catalog', 31, 30);
    const recentPulls = await finishedRuns(active, 'availability_pull', 0.5, 3);
    await finishedRuns(active, 'availability_pull', 3.5, 20);
    const idleCatalog = await finishedRuns(idle, 'catalog', 100, 25);
    const idlePulls = await finishedRuns(idle, 'availability_pull', 50, 10);
    const running = await db.prisma.syncRun.create({ data: { integrationId: idle, trigger: 'admin', status: 'running', queuedAt: daysAgo(200), startedAt: daysAgo(200) } });

    const pruned = await createPruneHistoryHandler({ db, settings, now: () => NOW })({}, ctx);

    expect(pruned).toMatchObject({ catalogRuns: 30 + 22, pullRuns: 20 + 7 });
    expect(await runIds(active, 'catalog')).toEqual(recentCatalog);
    expect(await runIds(active, 'availability_pull')).toEqual(recentPulls);
    // The idle integration's sync-log is never empty: its newest three of each kind stay.
    expect(await runIds(idle, 'catalog')).toEqual([...idleCatalog.slice(0, 3), running.id]);
    expect(await runIds(idle, 'availability_pull')).toEqual(idlePulls.slice(0, 3));

    await expect(createPruneHistoryHandler({ db, settings, now: () => NOW })({}, ctx)).resolves.toEqual({
      catalogRuns: 0,
      pullRuns: 0,
      alertDeliveries: 0,
      integrationEvents: 0,
    });
  });

  it('keeps pending alert deliveries and recent ones, and audit entries within a year', async () => {
    const id = await integration();
    const delivery = (status: 'pending' | 'delivered' | 'failed', days: number) => ({ id: randomUUID(), integrationId: id, kind: 'sync.failed', data: {}, status, createdAt: daysAgo(days) });
    const kept = [delivery('pending', 200), delivery('delivered', 89), delivery('failed', 10)];
    await db.prisma.alertDelivery.createMany({ data: [...kept, delivery('delivered', 91), delivery('failed', 300)] });
    await db.prisma.integrationEvent.createMany({
      data: [
        { integrationId: id, type: 'approved', actor: 'old', at: daysAgo(366) },
        { integrationId: id, type: 'activated', actor: 'old', at: daysAgo(400) },
        { integrationId: id, type: 'deactivated', actor: 'kept', at: daysAgo(364) },
      ],
    });

    const pruned = await createPruneHistoryHandler({ db, settings, now: () => NOW })({}, ctx);

    expect(pruned).toMatchObject({ alertDeliveries: 2, integrationEvents: 2 });
    const deliveries = await db.prisma.alertDelivery.findMany({ where: { integrationId: id }, select: { id: true } });
    expect(deliveries.map((d) => d.id).sort()).toEqual(kept.map((d) => d.id).sort());
    const actors = (await db.prisma.integrationEvent.findMany({ where: { integrationId: id }, select: { actor: true } })).map((e) => e.actor);
    expect(actors).toContain('kept');
    expect(actors).not.toContain('old');
  });

  it('deletes at most batch × maxBatches rows of a table per tick: a backlog goes over several ticks', async () => {
    const id = await integration();
    await finishedRuns(id, 'availability_pull', 10, 13);
    const tick = createPruneHistoryHandler({ db, settings: { ...settings, batch: 2, maxBatches: 3 }, now: () => NOW });
    const perTick: number[] = [];
    for (let i = 0; i < 20 && (perTick.at(-1) ?? 1) > 0; i++) perTick.push((await tick({}, ctx)).pullRuns);
    expect(perTick.length).toBeGreaterThan(2);
    expect(Math.max(...perTick)).toBeLessThanOrEqual(6);
    expect(perTick.reduce((a, b) => a + b, 0)).toBe(10);
    expect(await runIds(id, 'availability_pull')).toHaveLength(3);
  });

  it('has documented defaults', () => {
    expect(loadWorkerConfig({}).history).toEqual({
      syncRunDays: 30,
      pullRunDays: 3,
      keepNewestRuns: 20,
      alertDeliveryDays: 90,
      integrationEventDays: 365,
      batch: 5_000,
      maxBatches: 20,
    });
  });
});
