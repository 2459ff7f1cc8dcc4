import { Client } from 'pg';
import { catalogSyncJob } from '@octo-sync/jobs';
import { generateCatalog, startStack, waitFor, waitForFinishedRun, type ServiceProcess, type TestStack } from '@octo-sync/testkit';

/**
 * Postgres drops every connection of a worker in the middle of a catalog write (what a restart or
 * a failover does to it): the worker process stays up, the old catalog stays as it was, and the
 * run is retried to completion once Postgres answers again.
 */
describe('Postgres connections dropped mid-run', () => {
  let stack: TestStack;
  let admin: Client;
  // The worker's connections carry this name, so that the test ends those and not its own.
  const APPLICATION = 'octo-sync-e2e-worker';

  beforeAll(async () => {
    stack = await startStack('pg-drop');
    admin = new Client({ connectionString: stack.database.url });
    admin.on('error', (err) => process.stderr.write(`postgres-drop test: admin connection error: ${err.message}\n`));
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
    await stack.close();
  });

  /** Fails as soon as the worker exits, instead of waiting for a condition it can no longer bring about. */
  function whileAlive<T>(worker: ServiceProcess, waiting: Promise<T>): Promise<T> {
    const died = worker.exited.then(({ code, signal }) => {
      throw new Error(`the worker exited (code ${code}, signal ${signal}); stderr: ${worker.stderrTail()}`);
    });
    return Promise.race([waiting, died]);
  }

  it('keeps the worker alive and the previous catalog intact, and the retry completes the run', async () => {
    const { db, producer, supplier } = stack;
    const { integration } = await db.integrations.create({
      partnerId: 'pg-drop-partner', baseUrl: supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    const url = new URL(stack.database.url);
    url.searchParams.set('application_name', APPLICATION);
    const worker = await stack.start('worker', { DATABASE_URL: url.toString() });

    supplier.setCatalog(generateCatalog({ products: 50, options: 2, units: 2, seed: 1 }));
    const seed = await db.runs.requestRun(integration.id, 'webhook');
    await producer.waitFor(await producer.enqueue(catalogSyncJob, { integrationId: integration.id, runId: seed.runId }), 30_000);
    const snapshot = () =>
      db.prisma.$queryRaw<Array<{ octo_id: string; content_hash: string; active: boolean }>>`
        SELECT octo_id, content_hash, active FROM products WHERE integration_id = ${integration.id}::uuid ORDER BY octo_id`;
    const before = await snapshot();
    expect(before).toHaveLength(50);

    // Big enough that the write transaction is open for a while; the retry's fetch is held, so the
    // catalog can be checked between the dropped attempt and the next one.
    supplier.setCatalog(generateCatalog({ products: 3000, options: 3, units: 4, seed: 2 }));
    const { runId } = await db.runs.requestRun(integration.id, 'webhook');
    const fetchesBefore = supplier.requests.length;
    await producer.enqueue(catalogSyncJob, { integrationId: integration.id, runId });
    await whileAlive(worker, supplier.waitForRequests(fetchesBefore + 1, 30_000));
    const held = supplier.hold();

    // Detect the open write transaction and end every connection of the worker in one statement.
    const terminated = await whileAlive(
      worker,
      waitFor(
        'the catalog write transaction, to end it',
        async () => {
          const { rows } = await admin.query<{ pid: number }>(
            `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = $1
               AND EXISTS (SELECT 1 FROM pg_stat_activity w
                 WHERE w.datname = current_database() AND w.application_name = $1 AND w.xact_start IS NOT NULL
                   AND (w.query ILIKE '%INSERT INTO product_options%' OR w.query ILIKE '%INSERT INTO units%'))`,
            [APPLICATION],
          );
          return rows.length > 0 ? rows : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 5 },
      ),
    );
    expect(terminated.length).toBeGreaterThan(0);

    // The attempt failed as retryable and the retry is fetching again: the worker survived.
    await whileAlive(worker, supplier.waitForRequests(fetchesBefore + 2, 60_000));
    expect(worker.child.exitCode).toBeNull();
    expect(worker.child.signalCode).toBeNull();
    expect(await snapshot()).toEqual(before);
    expect((await db.runs.findRun(runId))!.status).not.toBe('succeeded');

    held.release();
    const done = await whileAlive(
      worker,
      waitForFinishedRun(db, runId, 'the retried run to finish'),
    );
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(done.counts).toMatchObject({ products: { created: 2950, updated: 50 } });
    expect(await db.prisma.product.count({ where: { integrationId: integration.id, active: true } })).toBe(3000);
    expect(worker.child.exitCode).toBeNull();
    // Its own waits are the deadlines (a worker process to start, three catalog runs, a retry).
  }, 300_000);
});
