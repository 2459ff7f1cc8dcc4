import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '@octo-sync/db';

/** The server tests run against: the local Postgres, or TEST_DATABASE_SERVER_URL. */
export const DATABASE_SERVER_URL = process.env.TEST_DATABASE_SERVER_URL ?? 'postgresql://postgres@127.0.0.1:5432';
export const TEMPLATE_DATABASE = 'octo_sync_test_template';
const TEST_DATABASE_PREFIX = 'octo_sync_t_';

export function databaseUrl(name: string): string {
  const url = new URL(DATABASE_SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Builds a freshly migrated template once per test run; every test database is a copy of it. */
export async function prepareTemplateDatabase(): Promise<void> {
  await withAdmin(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${TEST_DATABASE_PREFIX}%`]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await admin.query(`DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`);
  });
  await migrate({ databaseUrl: databaseUrl(TEMPLATE_DATABASE) });
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A private, migrated database for one test file (a copy of the template: milliseconds). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `${TEST_DATABASE_PREFIX}${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DATABASE}"`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** A name no other database on the server has (for tests of database creation). */
export function uniqueDatabaseName(): string {
  return `${TEST_DATABASE_PREFIX}${randomBytes(6).toString('hex')}`;
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
