import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDb, type Db } from '@octo-sync/db';
import { generateCatalog, startService, startTestSupplier, waitFor, type GeneratedProduct, type ServiceProcess, type TestSupplier } from '@octo-sync/testkit';
import { dropBenchDatabase, recreateDatabase } from '../lib/bench-db';

export const SOAK_JWT_SECRET = 'soak-jwt-secret-0123456789abcdef';
const SOAK_SECRETS_KEY = 'soak-secrets-key';
const SOAK_PREFIX = 'octo-soak';

/** One tenant: its supplier, its integration and what it was told at creation. */
export interface Tenant {
  index: number;
  id: string;
  secret: string;
  supplier: TestSupplier;
  catalog: GeneratedProduct[];
}

/** A private redis-server with AOF (fsync on every write), restartable on the same port and directory. */
export class PrivateRedis {
  private child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''];
    this.child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitFor('the private redis-server to answer', async () => (await redisCli(this.port, 'PING')) === 'PONG', { timeoutMs: 20_000, intervalMs: 50 });
  }

  /** SIGTERM (redis flushes its AOF and exits), then the same server again on its own files. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

async function redisCli(port: number, command: string): Promise<string> {
  const { stdout } = await promisify(execFile)('redis-cli', ['-h', '127.0.0.1', '-p', String(port), command]);
  return stdout.trim();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Everything the soak runs against, and the processes it may kill and restart. */
export interface Cast {
  db: Db;
  databaseName: string;
  redis: PrivateRedis;
  tenants: Tenant[];
  env: Record<string, string>;
  gateways: Array<{ process: ServiceProcess; url: string }>;
  workers: ServiceProcess[];
  /** Every service process started, so that none outlives the soak (two lanes may replace one slot at once). */
  started: ServiceProcess[];
}

/** Short locks and timeouts, so that killed processes and hung suppliers resolve within a soak. */
function serviceEnv(databaseUrl: string, redisUrl: string, hosts: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, QUEUE_PREFIX: SOAK_PREFIX, SECRETS_KEY: SOAK_SECRETS_KEY, JWT_SECRET: SOAK_JWT_SECRET,
    OCTO_ALLOWED_HOSTS: hosts, ALLOW_INSECURE_OCTO_URLS: 'true', SCHEDULES_ENABLED: 'false', PORT: '0', LOG_LEVEL: 'warn',
    SYNC_RETRY_BASE_MS: '200', SYNC_RETRY_MAX_MS: '2000', SYNC_TRIGGER_WAIT_MS: '3000', NOTIFY_WAIT_MS: '2000',
    WEBHOOK_RATE_LIMIT: '100000', NOTIFY_RATE_LIMIT: '10000000', OCTO_HEADERS_TIMEOUT_MS: '3000', OCTO_STALL_TIMEOUT_MS: '3000',
    SYNC_LOCK_DURATION_MS: '15000', SYNC_STALLED_INTERVAL_MS: '5000', JOB_LOCK_DURATION_MS: '5000', JOB_STALLED_INTERVAL_MS: '2000',
    SYNC_RUN_ABANDON_MS: '60000', SHUTDOWN_TIMEOUT_MS: '5000',
  };
}

/** Starts a gateway (LOG_LEVEL info only until its "started" line is read, then quiet). */
export async function startGateway(env: Record<string, string>): Promise<{ process: ServiceProcess; url: string }> {
  const process = await startService('gateway', { ...env, LOG_LEVEL: 'info' });
  const port = (await process.waitForLog((line) => line.msg === 'gateway started')).port as number;
  return { process, url: `http://127.0.0.1:${port}` };
}

export function startWorker(env: Record<string, string>): Promise<ServiceProcess> {
  return startService('worker', { ...env, LOG_LEVEL: 'info' });
}

async function createTenants(db: Db, count: number): Promise<Tenant[]> {
  const tenants: Tenant[] = [];
  for (let index = 0; index < count; index++) {
    const catalog = generateCatalog({ products: 8, options: 2, units: 2, seed: index + 1, idPrefix: `t${index}-p` });
    const supplier = await startTestSupplier({ catalog });
    const { integration, webhookSecret } = await db.integrations.create({
      partnerId: `soak-${index}`, baseUrl: supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    tenants.push({ index, id: integration.id, secret: webhookSecret, supplier, catalog });
  }
  return tenants;
}

/** Starts the cast: a private Redis, a fresh database, `tenants` suppliers and integrations, the services. */
export async function startCast(options: { tenants: number; gateways: number; workers: number }): Promise<Cast> {
  // One database per run, so that two soaks on one machine (CI beside a long run) never collide.
  const databaseName = `octo_sync_soak_${process.pid}`;
  const databaseUrl = await recreateDatabase(databaseName);
  const redis = new PrivateRedis(await freePort(), await mkdtemp(join(tmpdir(), 'octo-soak-redis-')));
  await redis.start();
  const db = createDb({ databaseUrl, secretsKey: SOAK_SECRETS_KEY, poolSize: 4 });
  const tenants = await createTenants(db, options.tenants);
  const env = serviceEnv(databaseUrl, redis.url, tenants.map((t) => t.supplier.hostPort).join(','));
  const gateways = await Promise.all(Array.from({ length: options.gateways }, () => startGateway(env)));
  const workers = await Promise.all(Array.from({ length: options.workers }, () => startWorker(env)));
  return { db, databaseName, redis, tenants, env, gateways, workers, started: [...gateways.map((g) => g.process), ...workers] };
}

/** Stops every process of the cast and removes what it created. */
export async function stopCast(cast: Cast, keepDatabase: boolean): Promise<void> {
  const processes = cast.started;
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await cast.db.close();
  await Promise.all(cast.tenants.map((t) => t.supplier.close()));
  await cast.redis.stop();
  await rm(cast.redis.dir, { recursive: true, force: true });
  if (!keepDatabase) await dropBenchDatabase(cast.databaseName);
}
