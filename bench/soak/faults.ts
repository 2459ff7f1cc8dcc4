import { connectClient } from '@octo-sync/db';
import { startGateway, startWorker, type Cast } from './cast';
import type { Operation } from './load';
import type { Rng } from './rng';

/** Ends every backend of the soak's database but the caller's: whatever they were writing rolls back. */
async function terminateBackends(cast: Cast): Promise<void> {
  const url = new URL(cast.env.DATABASE_URL!);
  url.pathname = '/postgres';
  const admin = await connectClient(url.toString(), (err) => process.emitWarning(err.message, { code: 'SOAK_DB_CONNECTION_LOST' }));
  try {
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [cast.databaseName]);
  } finally {
    await admin.end();
  }
}

async function killWorker(cast: Cast, index: number): Promise<void> {
  const victim = cast.workers[index]!;
  victim.kill('SIGKILL');
  await victim.exited;
  const replacement = await startWorker(cast.env);
  cast.started.push(replacement);
  cast.workers[index] = replacement;
}

async function stopGateway(cast: Cast, index: number): Promise<void> {
  const victim = cast.gateways[index]!;
  victim.process.kill('SIGTERM');
  await victim.process.exited;
  const replacement = await startGateway(cast.env);
  cast.started.push(replacement.process);
  cast.gateways[index] = replacement;
}

/**
 * A fault from the seeded stream. Supplier faults last a few requests; the tenants they hit are
 * recorded in `faulted` (their jobs may fail for good, which the check allows).
 */
export function faultOperation(rng: Rng, cast: Cast, faulted: Set<number>): Operation {
  const kind = rng.weighted({ workerKill: 2, gatewayTerm: 2, redisRestart: 1, pgTerminate: 2, supplierHang: 1, supplier500: 1, supplierTruncated: 1 });
  const tenant = rng.pick(cast.tenants);
  const worker = rng.int(cast.workers.length);
  const gateway = rng.int(cast.gateways.length);
  const times = 1 + rng.int(4);
  if (kind.startsWith('supplier')) faulted.add(tenant.index);
  const run = async (): Promise<void> => {
    if (kind === 'workerKill') await killWorker(cast, worker);
    else if (kind === 'gatewayTerm') await stopGateway(cast, gateway);
    else if (kind === 'redisRestart') await cast.redis.restart();
    else if (kind === 'pgTerminate') await terminateBackends(cast);
    else if (kind === 'supplierHang') tenant.supplier.behave({ kind: 'slowHeaders', ms: 6_000, times });
    else if (kind === 'supplier500') tenant.supplier.behave({ kind: 'status', status: 500, times });
    else tenant.supplier.behave({ kind: 'truncated', times });
  };
  return { kind: `fault.${kind}`, tenant: tenant.index, run };
}
