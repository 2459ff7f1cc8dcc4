import { connectClient, migrate } from '@octo-sync/db';

/** The Postgres server the benchmarks use (the same local server the tests use by default). */
const BENCH_DATABASE_SERVER = process.env.BENCH_DATABASE_SERVER_URL ?? 'postgresql://postgres@127.0.0.1:5432';
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Where a bench connection that Postgres closed while idle is reported (the next statement on it fails). */
export function reportLostConnection(err: Error): void {
  process.emitWarning(err.message, { code: 'BENCH_DB_CONNECTION_LOST' });
}

function benchDatabaseUrl(name: string): string {
  const url = new URL(BENCH_DATABASE_SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops `name` (if a previous run left it) and creates it afresh through the project's migrations. */
export async function recreateDatabase(name: string): Promise<string> {
  await dropBenchDatabase(name);
  const url = benchDatabaseUrl(name);
  await migrate({ databaseUrl: url });
  return url;
}

export async function dropBenchDatabase(name: string): Promise<void> {
  const admin = await connectClient(benchDatabaseUrl('postgres'), reportLostConnection);
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
