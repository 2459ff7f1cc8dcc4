// `npm run lint:openapi` (part of `npm test`): Redocly's lint of the OpenAPI document the gateway
// serves at /api/v1/openapi.json, with the rules of redocly.yaml.
//
// The document is the served one: the gateway app built in-process with its default configuration,
// as `GET /api/v1/openapi.json` builds it. No server, Postgres or Redis is needed: the app is built
// on a Redis connection closed before it is used and a pool that never connects (routes touch their
// dependencies only when they answer). Offline: the document has no remote $ref, and Redocly's
// telemetry and update check are off.
//
//   node --import tsx scripts/lint-openapi.ts [--out FILE]     (--out: keep the document there)
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createDb } from '@octo-sync/db';
import { JobProducer } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { buildApp } from '@octo-sync/gateway/src/app';
import { loadGatewayConfig } from '@octo-sync/gateway/src/config';
import type { OpenApiDocument } from '@octo-sync/gateway/src/openapi';

const root = resolve(__dirname, '..');

/** The document `GET /api/v1/openapi.json` answers with, built without opening a connection. */
async function servedDocument(): Promise<OpenApiDocument> {
  const config = loadGatewayConfig({});
  const redis = new Redis(config.redisUrl, { lazyConnect: true });
  redis.disconnect();
  const db = createDb({ databaseUrl: config.databaseUrl, secretsKey: config.secretsKey, poolSize: 1 });
  const producer = new JobProducer({ connection: redis, prefix: 'openapi-lint' });
  const log = createLogger({ level: 'silent', name: 'openapi-lint' });
  try {
    const app = buildApp({ config, db, producer, redis, subscriber: redis, receiveTag: () => 0, log });
    return app.locals.openapi();
  } finally {
    await producer.close();
    await db.close();
  }
}

/** Runs `redocly lint` on `file`; resolves with its output, rejects with it when it finds a problem. */
async function redoclyLint(file: string): Promise<string> {
  const bin = require.resolve('@redocly/cli/bin/cli.js');
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };
  const args = [bin, 'lint', '--config', join(root, 'redocly.yaml'), '--format', 'stylish', file];
  const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { cwd: root, env });
  return `${stdout}${stderr}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const document = await servedDocument();
  const dir = await mkdtemp(join(tmpdir(), 'openapi-lint-'));
  const file = values.out === undefined ? join(dir, 'openapi.json') : resolve(values.out);
  try {
    await writeFile(file, `${JSON.stringify(document, null, 2)}\n`);
    await redoclyLint(file);
    console.log(`lint:openapi: ${Object.keys(document.paths ?? {}).length} paths, no problem (redocly.yaml)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  const output = (err as { stdout?: string; stderr?: string }).stdout;
  process.stderr.write(output === undefined ? `lint:openapi: ${err instanceof Error ? err.message : String(err)}\n` : `${output}${(err as { stderr?: string }).stderr ?? ''}`);
  process.exit(1);
});
