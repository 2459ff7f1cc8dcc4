import { Client } from 'pg';
import { catalogSyncJob } from '@octo-sync/jobs';
import { generateCatalog, startStack, waitFor, waitForFinishedRun, type TestStack } from '@octo-sync/testkit';

/** A worker process killed in the middle of writing a catalog leaves the old one intact, and another worker finishes the run. */
describe('worker killed mid-run (SIGKILL)', () => {
  let stack: TestStack;
  // A dead worker's lock lapses quickly, so the survivor takes the job over within seconds.
  const fastTakeover = { SYNC_LOCK_DURATION_MS: '2000', SYNC_STALLED_INTERVAL_MS: '1000' };

  beforeAll(async () => {
    stack = await startStack('crash');
  });
  afterAll(() => stack.close());

  it('keeps the previous catalog and retries the run to completion', async () => {
    const { db, producer, supplier } = stack;
    const { integration } = await db.integrations.create({
      partnerId: 'crash-partner', baseUrl: supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    const first = await stack.start('worker', fastTakeover);

    const old = generateCatalog({ products: 50, options: 2, units: 2, seed: 1 });
    supplier.setCatalog(old);
    const seed = await db.runs.requestRun(integration.id, 'webhook');
    await producer.waitFor(await producer.enqueue(catalogSyncJob, { integrationId: integration.id, runId: seed.runId }), 20_000);
    const snapshot = async () =>
      db.prisma.$queryRaw<Array<{ octo_id: string; content_hash: string; active: boolean }>>`
        SELECT octo_id, content_hash, active FROM products WHERE integration_id = ${integration.id}::uuid ORDER BY octo_id`;
    const before = await snapshot();
    expect(before).toHaveLength(50);

    // A much bigger new catalog, so that the write transaction is open long enough to be caught.
    const next = generateCatalog({ products: 3000, options: 3, units: 4, seed: 2 });
    supplier.setCatalog(next);
    const { runId } = await db.runs.requestRun(integration.id, 'webhook');
    await producer.enqueue(catalogSyncJob, { integrationId: integration.id, runId });

    const watcher = new Client({ connectionString: stack.database.url });
    await watcher.connect();
    try {
      await waitFor(
        'the catalog write transaction to be open',
        async () => {
          const { rows } = await watcher.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
             AND state IN ('active', 'idle in transaction') AND xact_start IS NOT NULL
             AND (query ILIKE '%INSERT INTO product_options%' OR query ILIKE '%INSERT INTO units%')`,
          );
          return rows.length > 0;
        },
        { timeoutMs: 30_000, intervalMs: 5 },
      );
    } finally {
      await watcher.end();
    }
    first.kill('SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });

    // Postgres rolled the open transaction back: the catalog is exactly what it was.
    await waitFor('the dead connection to be gone', async () => (await snapshot()).length === 50, { timeoutMs: 10_000 });
    expect(await snapshot()).toEqual(before);
    expect((await db.runs.findRun(runId))!.status).toBe('running');

    await stack.start('worker', fastTakeover);
    const done = await waitForFinishedRun(db, runId, 'the run to be finished by the surviving worker');
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(done.counts).toMatchObject({ products: { created: 2950, updated: 50 } });
    expect(await db.prisma.product.count({ where: { integrationId: integration.id, active: true } })).toBe(3000);
    expect(await db.prisma.unit.count({ where: { active: true, option: { active: true, product: { integrationId: integration.id } } } })).toBe(3000 * 3 * 4);
  });
});
