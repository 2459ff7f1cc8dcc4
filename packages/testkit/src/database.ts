import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { connectClient, migrate } from '@octo-sync/db';

/** The server tests run against: the local Postgres, or TEST_DATABASE_SERVER_URL. */
export const DATABASE_SERVER_URL = process.env.TEST_DATABASE_SERVER_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const TEST_DATABASE_PREFIX = 'octo_sync_t_';

/**
 * Every database a test run creates carries the run's id (set by the global setup and inherited by
 * the test workers), so that two runs on one server never drop each other's databases. The id
 * starts with the run's start time in seconds: leftovers of runs that crashed are recognised by age.
 */
function runId(): string {
  return (process.env.OCTO_SYNC_TEST_RUN ??= `${Math.floor(Date.now() / 1000)}${randomBytes(3).toString('hex')}`);
}

export function templateDatabase(): string {
  return `${TEST_DATABASE_PREFIX}${runId()}_template`;
}

/** Runs older than this are over (or crashed); their databases may go. */
const STALE_RUN_S = 6 * 3600;

export function databaseUrl(name: string): string {
  const url = new URL(DATABASE_SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  // A dropped connection rejects the statement in flight too; the listener only keeps the test process alive.
  const client = await connectClient(databaseUrl('postgres'), (err) => process.emitWarning(err.message, { code: 'TEST_DB_CONNECTION_LOST' }));
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Builds a freshly migrated template once per test run; every test database is a copy of it. */
export async function prepareTemplateDatabase(): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  await withAdmin(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${TEST_DATABASE_PREFIX}%`]);
    for (const { datname } of rows) {
      const started = Number(/^octo_sync_t_(\d{10})/.exec(datname)?.[1] ?? 0);
      if (now - started > STALE_RUN_S) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  });
  await migrate({ databaseUrl: databaseUrl(templateDatabase()) });
}

/** Drops the databases of this run (the global teardown; test files drop their own first). */
export async function dropRunDatabases(): Promise<void> {
  await withAdmin(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${TEST_DATABASE_PREFIX}${runId()}%`]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  });
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Options of {@link createTestDatabase}. */
export interface TestDatabaseOptions {
  /**
   * An ICU locale (`en-US`) for the database's default collation, to test what the server's
   * collation must not change (ids compared or ordered in SQL). Such a database is created from
   * `template0` and migrated on its own: seconds, not milliseconds.
   */
  icuLocale?: string;
}

/** A private, migrated database for one test file (a copy of the template: milliseconds). */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = uniqueDatabaseName();
  if (options.icuLocale === undefined) {
    await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}" TEMPLATE "${templateDatabase()}"`));
  } else {
    if (!/^[A-Za-z0-9-]+$/.test(options.icuLocale)) throw new Error(`not an ICU locale name: ${options.icuLocale}`);
    // The libc locale stays C.UTF-8 (every server has it); the default collation is ICU's.
    const create = `CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE '${options.icuLocale}'`;
    await withAdmin((admin) => admin.query(create));
    await migrate({ databaseUrl: databaseUrl(name) });
  }
  return {
    name,
    url: databaseUrl(name),
    drop: () => withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** A name no other database on the server has (for tests of database creation). */
export function uniqueDatabaseName(): string {
  return `${TEST_DATABASE_PREFIX}${runId()}_${randomBytes(6).toString('hex')}`;
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
