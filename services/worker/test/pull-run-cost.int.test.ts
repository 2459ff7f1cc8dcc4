import pg from 'pg';
import { availabilityPullJob } from '@octo-sync/jobs';
import { generateCatalog, SlotCalendar } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

/**
 * What an unchanged scheduled pull costs the database, per run: at 5,000 suppliers tiered pulls
 * mean about 1.5 M runs a day, so the run's own record (request, claim, finish) must stay a few
 * statements and rows. Counted in-process (the worker runs in this process): every statement any
 * pg client sends from the request to the job's end, and every row version the pull left.
 */
describe('availability.pull: the database cost of an unchanged run', () => {
  let h: Harness;
  let integrationId: string;
  const catalog = generateCatalog({ products: 3, options: 2, units: 1, seed: 21 });
  const start = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start, days: 3, times: ['09:00', '14:00'], offset: '+00:00' });
  const options = catalog.length * 2;

  beforeAll(async () => {
    h = await startHarness({ PULL_REQUESTS_PER_SUPPLIER: '2' });
    integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    h.supplier.setAvailability(calendar);
    await h.sync(integrationId);
  });
  afterAll(() => h.close());

  async function pull(): Promise<string> {
    const { runId } = await h.db.runs.requestRun(integrationId, 'schedule', { kind: 'availability_pull' });
    const outcome = await h.producer.waitFor(await h.producer.enqueue(availabilityPullJob, { integrationId, runId }), 60_000);
    if (outcome.state !== 'completed') throw new Error(`pull ${runId} ended ${outcome.state}`);
    return runId;
  }

  /** Row versions written since transaction id `since`, per table (a row updated twice counts once: its newest version). */
  async function rowsWrittenSince(since: string): Promise<Record<string, number>> {
    const tables = ['sync_runs', 'pull_flights', 'availability_pull_marks', 'availability_slots', 'slot_ids', 'integrations', 'integration_events'];
    const counts = await Promise.all(tables.map(async (table) => {
      const { rows } = await h.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE xmin::text::bigint >= $1::bigint`, [since]);
      return [table, rows[0]!.n] as const;
    }));
    return Object.fromEntries(counts.filter(([, n]) => n > 0));
  }

  test('writes its run record, its flight and one mark per option, nothing else, in a bounded number of statements', async () => {
    await pull();
    const since = (await h.db.pool.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid')).rows[0]!.xid;
    const original = Reflect.get(pg.Client.prototype, 'query') as (this: pg.Client, ...args: unknown[]) => unknown;
    let statements = 0;
    Reflect.set(pg.Client.prototype, 'query', function counted(this: pg.Client, ...args: unknown[]) {
      statements += 1;
      return original.apply(this, args);
    });
    let runId: string;
    try {
      runId = await pull();
    } finally {
      Reflect.set(pg.Client.prototype, 'query', original);
    }
    const run = (await h.db.runs.findRun(runId))!;
    expect(run).toMatchObject({ status: 'succeeded', counts: { slots: { created: 0, updated: 0, closed: 0 } } });
    expect(await rowsWrittenSince(since)).toEqual({ sync_runs: 1, pull_flights: 1, availability_pull_marks: options });
    process.stdout.write(`unchanged pull of ${options} options: ${statements} statements\n`);
    expect(statements).toBeLessThanOrEqual(STATEMENTS_MAX);
  });
});

/**
 * Statements of the unchanged pull above, 24 as measured: the request (5: its transaction under the
 * request lock), the claim (6: the run read, the flight's lock and claim in one transaction, the
 * integration read), the targets and the marks' digests (2), one confirmation (7: the fence with its
 * deadline, option locks, confirm, trim and prune marks, in one transaction) and the finish (4).
 */
const STATEMENTS_MAX = 26;
