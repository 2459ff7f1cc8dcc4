import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, MIGRATIONS_DIR, readMigrations } from '@octo-sync/db';

/**
 * Migrates a database to just before the first migration whose folder name contains `marker` (a
 * timestamp or a name), as a database of the release before it was; returns that migration's
 * folder name, so an upgrade test can check that the next `migrate` applies it.
 */
export async function migrateBefore(databaseUrl: string, marker: string): Promise<string> {
  const migrations = await readMigrations();
  const upgrade = migrations.find((m) => m.name.includes(marker));
  if (upgrade === undefined) throw new Error(`no migration named like ${marker}`);
  const dir = await mkdtemp(join(tmpdir(), 'octo-before-'));
  try {
    for (const m of migrations.filter((m) => m.name < upgrade.name)) await cp(join(MIGRATIONS_DIR, m.name), join(dir, m.name), { recursive: true });
    await migrate({ databaseUrl, migrationsDir: dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return upgrade.name;
}
