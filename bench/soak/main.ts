/**
 * `npm run soak -- [--seconds N] [--seed S] [--json]`
 *
 * A model-based soak: 2 gateways and 3 workers as real processes on a private Redis with AOF and
 * a fresh database, 20 integrations on local suppliers. A seeded stream of operations (catalog
 * changes, sync triggers, notifies, admin actions, hostile inputs) and faults (worker SIGKILL,
 * gateway SIGTERM, Redis restart, Postgres backends terminated, suppliers that hang, fail or cut
 * their body) runs for `--seconds`; then the suppliers behave, every tenant gets a forced sync,
 * the queues drain, and the stored state is checked against the model. Same seed, same stream of
 * operations. Progress goes to stderr; the last stdout line is the report (JSON with `--json`).
 * A violation makes the exit code 1.
 */
import { note, parseArgs } from '../lib/args';
import { startCast, stopCast, type Cast } from './cast';
import { checkCatalogs, checkSlots, type Violation } from './check';
import { faultOperation } from './faults';
import { Http } from './http';
import { nextOperation, type Operation } from './load';
import { Model } from './model';
import { Rng } from './rng';
import { checkFailedJobs, checkRuns, drain, finalSyncs } from './settle';

const args = parseArgs(process.argv.slice(2), { seconds: 60, seed: Date.now() % 1_000_000, json: false, lanes: 6, faultRate: 0.02, tenants: 20, keep: false });

const INVARIANTS = ['final-sync', 'catalog', 'slot-order', 'no-stuck-run', 'single-flight', 'no-failed-job'];

interface Tally {
  operations: Record<string, number>;
  faults: Record<string, number>;
}

/** Runs the seeded stream on `lanes` concurrent lanes until the time is up; the stream order is the seed's alone. */
async function runLoad(cast: Cast, model: Model, http: Http, faulted: Set<number>): Promise<Tally & { count: number }> {
  const rng = new Rng(args.seed);
  const revoked = new Set<number>();
  const tally: Tally = { operations: {}, faults: {} };
  const deadline = Date.now() + args.seconds * 1000;
  let index = 0;
  const take = (): Operation => {
    const op = index++;
    const operation = rng.next() < args.faultRate ? faultOperation(rng, cast, faulted) : nextOperation(rng, op, cast, model, http, { revoked, exempt: faulted });
    const bucket = operation.kind.startsWith('fault.') ? tally.faults : tally.operations;
    bucket[operation.kind] = (bucket[operation.kind] ?? 0) + 1;
    return operation;
  };
  const lane = async (): Promise<void> => {
    while (Date.now() < deadline) await take().run();
  };
  await Promise.all(Array.from({ length: args.lanes }, lane));
  return { ...tally, count: index };
}

async function settleAndCheck(cast: Cast, model: Model, http: Http, faulted: Set<number>): Promise<Violation[]> {
  note('quiet: suppliers behave, every tenant approved and synced once more');
  const violations = await finalSyncs(cast, http);
  await drain(cast, 180_000);
  note('drained: checking the model');
  violations.push(...(await checkCatalogs(cast, model)), ...(await checkSlots(cast, model)), ...(await checkRuns(cast)), ...(await checkFailedJobs(cast, faulted)));
  return violations;
}

async function main(): Promise<void> {
  note(`seed ${args.seed}, ${args.seconds} s: starting the cast`);
  const cast = await startCast({ tenants: args.tenants, gateways: 2, workers: 3 });
  try {
    const model = new Model(cast.tenants);
    const http = new Http(cast);
    for (const tenant of cast.tenants) await http.adminCall(tenant, 'sync?force=true');
    await drain(cast, 120_000);
    const faulted = new Set<number>();
    note('load and faults');
    const started = Date.now();
    const tally = await runLoad(cast, model, http, faulted);
    const seconds = Math.round((Date.now() - started) / 1000);
    const violations = await settleAndCheck(cast, model, http, faulted);
    const acked = model.changes.filter((c) => c.acked).length;
    const report = { soak: 'octo-sync', seed: args.seed, seconds, operationCount: tally.count, operations: tally.operations, faults: tally.faults, slotChanges: { sent: model.changes.length, acknowledged: acked }, invariants: INVARIANTS, violations: violations.map((v) => ({ ...v, seed: args.seed })) };
    if (!args.json) note(`${violations.length} violations`);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    if (violations.length > 0) process.exitCode = 1;
  } finally {
    await stopCast(cast, args.keep);
  }
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  })
  // Everything the soak started is stopped by now; a keep-alive socket to a gateway killed mid-run must not hold the exit.
  .finally(() => process.exit());
