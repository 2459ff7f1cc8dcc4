import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Client } from 'pg';
import { AppError } from '@octo-sync/platform';
import { connectClient, type ConnectionErrorListener } from './client';
import { isNonTransactional, splitStatements } from './migration-statements';

/**
 * The migrations folder of this repository (the one Prisma's CLI uses too): the nearest
 * `prisma/migrations` above this module, whether it runs from its source or bundled into `dist/`.
 */
export const MIGRATIONS_DIR = findMigrationsDir(__dirname);

function findMigrationsDir(from: string): string {
  for (let dir = from; dirname(dir) !== dir; dir = dirname(dir)) {
    const candidate = join(dir, 'prisma', 'migrations');
    if (existsSync(candidate)) return candidate;
  }
  return resolve(from, '../../../prisma/migrations');
}

/** Prisma migrate's advisory lock key, so that this runner and `prisma migrate deploy` never overlap. */
const PRISMA_ADVISORY_LOCK = 72707369;

/** Prisma's own bookkeeping table, exactly as `prisma migrate` creates it on PostgreSQL. */
const CREATE_PRISMA_MIGRATIONS = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

class MigrationError extends AppError {}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
  databaseCreated: boolean;
}

export type MigrateLog = (message: string, fields?: Record<string, unknown>) => void;

export interface MigrateOptions {
  databaseUrl: string;
  migrationsDir?: string;
  log?: MigrateLog;
}

/** A dropped connection also rejects the statement in flight (or the next one); this only reports it. */
const reportLostConnection =
  (log: MigrateLog): ConnectionErrorListener =>
  (err) =>
    log('database connection lost', { err: err.message });

/** Prisma's checksum of a migration script: SHA-256, lowercase hex, of the file's UTF-8 text. */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** Prisma accepts a script whose line endings git rewrote (LF <-> CRLF); so do we. */
function matchesChecksum(sql: string, checksum: string): boolean {
  const lf = sql.replace(/\r\n/g, '\n');
  return [sql, lf, lf.replace(/\n/g, '\r\n')].some((variant) => migrationChecksum(variant) === checksum);
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: migrationChecksum(sql) };
    }),
  );
}

/** Creates the database named in `databaseUrl` when it does not exist yet. Returns whether it did. */
async function ensureDatabase(databaseUrl: string, log: MigrateLog = () => {}): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new MigrationError('DATABASE_URL_INVALID', 'DATABASE_URL names no database');
  url.pathname = '/postgres';
  const admin = await connectClient(url.toString(), reportLostConnection(log));
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      return true;
    } catch (err) {
      // Another process created it between our check and our CREATE: that is fine.
      if ((err as { code?: string }).code === '42P04') return false;
      throw err;
    }
  } finally {
    await admin.end();
  }
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies pending migrations from prisma/migrations without the Prisma schema engine.
 *
 * It does what `prisma migrate deploy` does and records the same rows in `_prisma_migrations`
 * (same checksums), so either tool can take over from the other: each pending migration runs in
 * its own transaction together with its bookkeeping row; migrations already applied are verified
 * against their checksum and an edited one stops everything with a clear error; a migration that
 * a previous run left half-applied (Prisma's P3009) must be resolved by a person first.
 *
 * A migration whose first line is `-- octo-sync: no-transaction` runs outside any transaction,
 * one statement at a time (so it may `CREATE INDEX CONCURRENTLY`). Its bookkeeping row is written
 * before its first statement and finished after its last; a failure leaves it recorded as failed
 * (with the error in `logs`), and the next run retries it from its first statement once no
 * invalid index is left in the database, marking the failed row rolled back as
 * `prisma migrate resolve --rolled-back` would. Such a migration must therefore be idempotent.
 */
export async function migrate({ databaseUrl, migrationsDir = MIGRATIONS_DIR, log = () => {} }: MigrateOptions): Promise<MigrateResult> {
  const databaseCreated = await ensureDatabase(databaseUrl, log);
  if (databaseCreated) log('created database');
  const migrations = await readMigrations(migrationsDir);
  const client = await connectClient(databaseUrl, reportLostConnection(log));
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    try {
      await client.query(CREATE_PRISMA_MIGRATIONS);
      const { rows } = await client.query<AppliedRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
      );
      const live = await retireRetryableFailures(client, rows, migrations, log);
      const applied = new Map(live.map((r) => [r.migration_name, r.checksum]));
      const known = new Set(migrations.map((m) => m.name));
      for (const name of applied.keys()) {
        if (!known.has(name)) log('database has a migration that is not in prisma/migrations', { migration: name });
      }
      const edited = migrations.filter((m) => applied.has(m.name) && !matchesChecksum(m.sql, applied.get(m.name) ?? ''));
      if (edited.length > 0) {
        throw new MigrationError(
          'MIGRATION_MODIFIED',
          `migration ${edited.map((m) => m.name).join(', ')} was changed after it was applied; ` +
            'restore the original file and put the change in a new migration',
        );
      }
      const result: MigrateResult = { applied: [], alreadyApplied: [], databaseCreated };
      for (const migration of migrations) {
        if (applied.has(migration.name)) {
          result.alreadyApplied.push(migration.name);
          continue;
        }
        await applyOne(client, migration);
        log('applied migration', { migration: migration.name });
        result.applied.push(migration.name);
      }
      return result;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]);
    }
  } finally {
    await client.end();
  }
}

async function applyOne(client: Client, migration: MigrationFile): Promise<void> {
  if (isNonTransactional(migration.sql)) {
    await applyWithoutTransaction(client, migration);
    return;
  }
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
      [id, migration.checksum, migration.name],
    );
    // No parameters: pg then uses the simple query protocol, which runs a multi-statement script.
    await client.query(migration.sql);
    await client.query('UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [id]);
    await client.query('COMMIT');
  } catch (cause) {
    await client.query('ROLLBACK');
    throw new MigrationError('MIGRATION_FAILED', `migration ${migration.name} failed and was rolled back: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/**
 * Runs a non-transactional migration statement by statement (a multi-statement string is an
 * implicit transaction, where `CONCURRENTLY` is refused). Its row counts steps as Prisma does (the
 * whole script is one step: 1 once finished, 0 while failed); `logs` says how far a failure got.
 */
async function applyWithoutTransaction(client: Client, migration: MigrationFile): Promise<void> {
  const id = randomUUID();
  await client.query(
    'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
    [id, migration.checksum, migration.name],
  );
  let steps = 0;
  try {
    for (const statement of splitStatements(migration.sql)) {
      await client.query(statement);
      steps += 1;
    }
  } catch (cause) {
    const message = (cause as Error).message;
    await client.query('UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1', [id, `failed after ${steps} statement(s): ${message}`]);
    throw new MigrationError(
      'MIGRATION_FAILED',
      `migration ${migration.name} (no transaction) failed after ${steps} statement(s) and is recorded as failed; ` +
        `the next run retries it from its first statement: ${message}`,
      { cause },
    );
  }
  await client.query('UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [id]);
}

/**
 * The bookkeeping rows still in force. A failed non-transactional migration (still in the folder)
 * is marked rolled back so that it runs again, provided no invalid index is left (a failed
 * `CREATE INDEX CONCURRENTLY` leaves one, and `IF NOT EXISTS` would then skip it silently). Any
 * other unfinished row is Prisma's P3009 and stops the run.
 */
async function retireRetryableFailures(client: Client, rows: AppliedRow[], migrations: MigrationFile[], log: MigrateLog): Promise<AppliedRow[]> {
  const retryable = new Set(migrations.filter((m) => isNonTransactional(m.sql)).map((m) => m.name));
  const live = rows.filter((r) => r.rolled_back_at === null);
  const failed = live.filter((r) => r.finished_at === null);
  const blocking = failed.filter((r) => !retryable.has(r.migration_name));
  if (blocking.length > 0) {
    throw new MigrationError(
      'MIGRATION_FAILED_BEFORE',
      `migration ${blocking.map((r) => r.migration_name).join(', ')} started but did not finish; ` +
        'fix the database by hand, then mark it with `prisma migrate resolve --applied|--rolled-back <name>`',
    );
  }
  if (failed.length === 0) return live;
  await refuseInvalidIndexes(client);
  const names = failed.map((r) => r.migration_name);
  await client.query(
    'UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = ANY($1::text[]) AND finished_at IS NULL AND rolled_back_at IS NULL',
    [names],
  );
  log('retrying non-transactional migrations that failed before', { migrations: names });
  return live.filter((r) => r.finished_at !== null);
}

async function refuseInvalidIndexes(client: Client): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    'SELECT i.indexrelid::regclass::text AS name FROM pg_index i WHERE NOT i.indisvalid ORDER BY 1',
  );
  if (rows.length === 0) return;
  const names = rows.map((r) => r.name);
  throw new MigrationError(
    'MIGRATION_INVALID_INDEX',
    `invalid index ${names.join(', ')} left by a failed CREATE INDEX CONCURRENTLY; ` +
      `drop each first (${names.map((n) => `DROP INDEX CONCURRENTLY IF EXISTS ${n};`).join(' ')}), then run the migrations again`,
  );
}
