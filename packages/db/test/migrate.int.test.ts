import { appendFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { isNonTransactional, migrate, migrationChecksum, MIGRATIONS_DIR, NO_TRANSACTION_MARKER, readMigrations, splitStatements } from '@octo-sync/db';
import { databaseUrl, dropDatabase, uniqueDatabaseName } from '@octo-sync/testkit';

async function query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('migrate (no Prisma schema engine)', () => {
  const name = uniqueDatabaseName();
  const url = databaseUrl(name);
  afterAll(() => dropDatabase(name));

  it('creates the missing database, applies every migration and records it as Prisma does', async () => {
    const files = await readMigrations();
    const result = await migrate({ databaseUrl: url });
    expect(result.databaseCreated).toBe(true);
    expect(result.applied).toEqual(files.map((f) => f.name));

    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
      url,
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
    for (const [i, row] of rows.entries()) {
      expect(row.checksum).toBe(files[i]?.checksum);
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it('is idempotent: a second run applies nothing', async () => {
    const result = await migrate({ databaseUrl: url });
    expect(result).toMatchObject({ applied: [], databaseCreated: false });
    expect(result.alreadyApplied.length).toBeGreaterThan(0);
  });

  it("uses Prisma's checksum: SHA-256 hex of the script", () => {
    expect(migrationChecksum('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('migrate with a migrations folder that changes', () => {
  const name = uniqueDatabaseName();
  const url = databaseUrl(name);
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'octo-migrations-'));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await migrate({ databaseUrl: url, migrationsDir: dir });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await dropDatabase(name);
  });

  it('refuses to go on when an applied migration was edited', async () => {
    const [first] = await readMigrations(dir);
    await appendFile(join(dir, first!.name, 'migration.sql'), '\n-- edited later\n');
    await expect(migrate({ databaseUrl: url, migrationsDir: dir })).rejects.toMatchObject({ code: 'MIGRATION_MODIFIED' });
  });

  it('accepts the same script with CRLF line endings (git on Windows)', async () => {
    const [first] = await readMigrations(MIGRATIONS_DIR);
    await writeFile(join(dir, first!.name, 'migration.sql'), first!.sql.replace(/\n/g, '\r\n'));
    await expect(migrate({ databaseUrl: url, migrationsDir: dir })).resolves.toMatchObject({ applied: [] });
  });

  it('applies a new migration in a transaction, and rolls back a broken one completely', async () => {
    await mkdir(join(dir, '29990101000000_broken'));
    await writeFile(join(dir, '29990101000000_broken', 'migration.sql'), 'CREATE TABLE half_done (id int);\nSELECT no_such_function();\n');
    await expect(migrate({ databaseUrl: url, migrationsDir: dir })).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    const tables = await query(url, "SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
    expect(tables).toHaveLength(0);
    const recorded = await query(url, `SELECT 1 FROM "_prisma_migrations" WHERE migration_name = '29990101000000_broken'`);
    expect(recorded).toHaveLength(0);

    await writeFile(join(dir, '29990101000000_broken', 'migration.sql'), 'CREATE TABLE later_table (id int);\n');
    await expect(migrate({ databaseUrl: url, migrationsDir: dir })).resolves.toMatchObject({ applied: ['29990101000000_broken'] });
  });

  it('stops on a migration that Prisma left half-applied', async () => {
    await query(
      url,
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ('00000000-0000-0000-0000-000000000001', 'x', '29990202000000_crashed', now())`,
    );
    await expect(migrate({ databaseUrl: url, migrationsDir: dir })).rejects.toMatchObject({ code: 'MIGRATION_FAILED_BEFORE' });
  });
});

describe('migrate with a non-transactional migration (CREATE INDEX CONCURRENTLY)', () => {
  const name = uniqueDatabaseName();
  const url = databaseUrl(name);
  let dir: string;
  const migration = '29990303000000_concurrent_index';
  const write = (sql: string): Promise<void> => writeFile(join(dir, migration, 'migration.sql'), `${NO_TRANSACTION_MARKER}\n${sql}`);
  const recorded = (): Promise<{ finished_at: Date | null; rolled_back_at: Date | null; logs: string | null; applied_steps_count: number }[]> =>
    query(url, `SELECT finished_at, rolled_back_at, logs, applied_steps_count FROM "_prisma_migrations" WHERE migration_name = '${migration}' ORDER BY started_at`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'octo-migrations-'));
    await mkdir(join(dir, '29990202000000_base'));
    await writeFile(
      join(dir, '29990202000000_base', 'migration.sql'),
      "CREATE TABLE items (id int, label text);\nINSERT INTO items VALUES (1, 'a'), (2, 'a'), (3, 'b');\n",
    );
    await mkdir(join(dir, migration));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await dropDatabase(name);
  });

  it('records a failed statement as a failed migration and keeps what ran before it', async () => {
    await write(
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_id_idx ON items (id);\n' +
        "-- a semicolon inside a string or a comment does not split: ';'\n" +
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_label_key ON items (label) WHERE label <> ';';\n",
    );
    await expect(migrate({ databaseUrl: url, migrationsDir: dir })).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    const [row] = await recorded();
    expect(row).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    expect(row?.logs).toMatch(/^failed after 1 statement\(s\): .*unique/i);
    const indexes = await query<{ indexname: string; valid: boolean }>(
      url,
      "SELECT c.relname AS indexname, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'items_%' ORDER BY 1",
    );
    expect(indexes).toEqual([
      { indexname: 'items_id_idx', valid: true },
      { indexname: 'items_label_key', valid: false },
    ]);
  });

  it('refuses to retry while the failed build left an invalid index, naming how to drop it', async () => {
    await query(url, "DELETE FROM items WHERE id = 2");
    await expect(migrate({ databaseUrl: url, migrationsDir: dir })).rejects.toMatchObject({
      code: 'MIGRATION_INVALID_INDEX',
      message: expect.stringContaining('DROP INDEX CONCURRENTLY IF EXISTS items_label_key;'),
    });
  });

  it('retries an idempotent migration from its first statement once the invalid index is dropped', async () => {
    await query(url, 'DROP INDEX CONCURRENTLY IF EXISTS items_label_key');
    await expect(migrate({ databaseUrl: url, migrationsDir: dir })).resolves.toMatchObject({ applied: [migration] });
    const rows = await recorded();
    expect(rows).toHaveLength(2);
    expect(rows[0]?.rolled_back_at).toBeInstanceOf(Date);
    expect(rows[1]).toMatchObject({ rolled_back_at: null, applied_steps_count: 1 });
    expect(rows[1]?.finished_at).toBeInstanceOf(Date);
    const valid = await query(url, "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'items_label_key' AND i.indisvalid");
    expect(valid).toHaveLength(1);
    await expect(migrate({ databaseUrl: url, migrationsDir: dir })).resolves.toMatchObject({ applied: [] });
  });

  it('still stops on a failed transactional migration (Prisma P3009)', async () => {
    await query(url, `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ('00000000-0000-0000-0000-000000000002', 'x', '29990404000000_crashed', now())`);
    await expect(migrate({ databaseUrl: url, migrationsDir: dir })).rejects.toMatchObject({ code: 'MIGRATION_FAILED_BEFORE' });
  });
});

describe('splitStatements', () => {
  it('splits at top-level semicolons only', () => {
    const sql = "SELECT ';' AS a; -- c;\nDO $body$ BEGIN PERFORM 1; END $body$;\n/* x; */ SELECT \"a;b\" FROM t;\n-- only a comment;\n";
    expect(splitStatements(sql)).toEqual(["SELECT ';' AS a", '-- c;\nDO $body$ BEGIN PERFORM 1; END $body$', '/* x; */ SELECT "a;b" FROM t']);
  });

  it('reads the declaration on the first line only', () => {
    expect(isNonTransactional(`${NO_TRANSACTION_MARKER}\nCREATE INDEX CONCURRENTLY x ON t (a);`)).toBe(true);
    expect(isNonTransactional(`SELECT 1;\n${NO_TRANSACTION_MARKER}\n`)).toBe(false);
  });
});
