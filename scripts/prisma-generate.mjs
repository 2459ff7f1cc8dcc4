// Runs `prisma generate` without network access.
//
// The Prisma CLI wants its native schema engine even for `generate`, and downloads it when it is
// missing. `generate` does not use it, so where none is installed we point the CLI at a harmless
// stand-in file. Migrations never go through the CLI here: see packages/db/src/migrate.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
}
const cli = join(root, 'node_modules', 'prisma', 'build', 'index.js');
if (!existsSync(cli)) {
  // `npm ci --omit=dev` has no CLI: the generated client must then come from the build image.
  console.warn('prisma-generate: prisma CLI not installed, skipping client generation');
  process.exit(0);
}
const result = spawnSync(process.execPath, [cli, 'generate'], { cwd: root, env, stdio: 'inherit' });
process.exit(result.status ?? 1);
