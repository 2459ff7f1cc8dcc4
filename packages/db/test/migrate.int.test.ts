import { appendFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { migrate, migrationChecksum, MIGRATIONS_DIR, readMigrations } from '@octo-sync/db';
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
