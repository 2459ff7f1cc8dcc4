import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '../../..');

/**
 * Where this test run's compiled services are: built once per run by the global setup (into a
 * folder of the run's own, so that concurrent runs and an `npm run build` never swap files under
 * a starting process), inherited by the test workers; outside Jest, `npm run build`'s dist/.
 */
export function compiledDir(): string {
  const dir = process.env.OCTO_SYNC_TEST_BUILD ?? join(ROOT, 'dist');
  if (!existsSync(join(dir, 'gateway.js'))) throw new Error(`no compiled services in ${dir}: run \`npm run build\` first`);
  return dir;
}

/** Compiles the services with `npm run build`'s script, so tests start what ships. */
export async function buildForTestRun(): Promise<void> {
  // Below node_modules, so the bundles resolve their dependencies as they do from dist/.
  const parent = join(ROOT, 'node_modules', '.cache', 'octo-sync-test-builds');
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(parent, 'run-'));
  await promisify(execFile)(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--outdir', dir], { cwd: ROOT });
  process.env.OCTO_SYNC_TEST_BUILD = dir;
}

/** Removes this run's compiled services. */
export async function removeTestBuild(): Promise<void> {
  const dir = process.env.OCTO_SYNC_TEST_BUILD;
  if (dir) await rm(dir, { recursive: true, force: true });
}
