import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { compiledDir, createTestDatabase, freePort, spawnService, TEST_REDIS_URL, uniquePrefix, clearPrefix, waitFor, type ServiceKind, type ServiceProcess, type TestDatabase } from '@octo-sync/testkit';

/**
 * A newcomer without Postgres or Redis, through the compiled processes: each says once, in one
 * structured line, which service is missing (the variable, where it points without the
 * credentials, and what to do), keeps retrying quietly, and stops on the first SIGTERM.
 */
const PASSWORD = 'hunter2-never-printed';
const HINT = 'docker compose up -d postgres redis';
/** How long a process gets to exit after SIGTERM: generous (a shared machine), never a timing claim. */
const EXIT_DEADLINE_MS = 60_000;

async function exitOf(service: ServiceProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the process did not exit; last lines: ${JSON.stringify(service.lines.slice(-5))}`)), EXIT_DEADLINE_MS);
  });
  try {
    return await Promise.race([service.exited, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const withMsg = (msg: string, name?: string) => (line: Record<string, unknown>) => line.msg === msg && (name === undefined || line.name === name);

/** Every printed line that mentions the refused connection: the structured ones we expect, nothing else. */
function refusalsOf(service: ServiceProcess): Array<Record<string, unknown>> {
  return service.lines.filter((line) => JSON.stringify(line).includes('ECONNREFUSED'));
}

function expectNoDumps(service: ServiceProcess): void {
  expect(service.stderrTail()).not.toContain('ECONNREFUSED');
  expect(service.lines.filter((line) => ['queue worker error', 'redis connection error', 'queue error'].includes(line.msg as string))).toEqual([]);
  expect(JSON.stringify(service.lines)).not.toContain(PASSWORD);
}

describe('a newcomer without Postgres or Redis (compiled processes)', () => {
  let database: TestDatabase;
  let prefix: string;
  const started: ServiceProcess[] = [];
  const privateRedis: ChildProcess[] = [];

  const run = (kind: ServiceKind, env: Record<string, string>) => {
    const service = spawnService(kind, { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, SCHEDULES_ENABLED: 'false', PORT: '0', LOG_LEVEL: 'info', ...env });
    started.push(service);
    return service;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    prefix = uniquePrefix('e2e-deps');
  });
  afterEach(() => {
    // The launcher's children run in their own process groups: stop any a failed test left.
    for (const service of started) if (service.child.exitCode === null && service.child.signalCode === null) for (const pid of pidsIn(service)) killIfOurs(pid);
    for (const service of started.splice(0)) if (service.child.exitCode === null && service.child.signalCode === null) service.kill('SIGKILL');
    for (const redis of privateRedis.splice(0)) if (redis.exitCode === null && redis.signalCode === null) redis.kill('SIGKILL');
  });
  afterAll(async () => {
    await clearPrefix(prefix);
    await database.drop();
  });

  describe.each(['gateway', 'worker'] as const)('the %s', (kind) => {
    test('with Redis at a closed port: one line naming REDIS_URL, reminders instead of dumps, and the first SIGTERM stops it', async () => {
      const port = await freePort();
      const service = run(kind, { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}`, REDIS_DOWN_REMINDER_MS: '1000' });
      const line = await service.waitForLog(withMsg('redis unreachable: retrying in the background'), 30_000);
      expect(line).toMatchObject({ level: 'warn', service: 'redis', variable: 'REDIS_URL', url: `redis://127.0.0.1:${port}`, code: 'ECONNREFUSED' });
      expect(line.hint).toContain(HINT);
      // The reminder comes after ioredis has retried for a second: the outage is still one line.
      await service.waitForLog(withMsg('redis still unreachable'), 30_000);
      expect(refusalsOf(service)).toEqual([line]);
      expectNoDumps(service);

      service.kill('SIGTERM');
      expect(await exitOf(service)).toEqual({ code: 0, signal: null });
      // `stopped`, or `stopped during start-up` when start-up was still waiting for Redis.
      expect(service.lines.filter((l) => String(l.msg).startsWith('stopped'))).toHaveLength(1);
    });

    test('with Postgres at a closed port: one line naming DATABASE_URL, and the first SIGTERM stops it', async () => {
      const port = await freePort();
      const service = run(kind, { DATABASE_URL: `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/octo_sync` });
      const line = await service.waitForLog(withMsg('postgres unreachable'), 30_000);
      expect(line).toMatchObject({ level: 'warn', service: 'postgres', variable: 'DATABASE_URL', url: `postgresql://127.0.0.1:${port}/octo_sync`, code: 'ECONNREFUSED' });
      expect(line.hint).toContain(HINT);
      await service.waitForLog((l) => l.msg === `${kind} started`, 30_000);
      expectNoDumps(service);

      service.kill('SIGTERM');
      expect(await exitOf(service)).toEqual({ code: 0, signal: null });
    });
  });

  test('the worker says when Redis is back, starts, says when it is gone again, and still stops on the first SIGTERM', async () => {
    const port = await freePort();
    const worker = run('worker', { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}` });
    await worker.waitForLog(withMsg('redis unreachable: retrying in the background'), 30_000);
    const redis = await startRedis(port);
    const back = await worker.waitForLog(withMsg('redis reachable again'), 30_000);
    expect(back).toMatchObject({ level: 'info', variable: 'REDIS_URL', url: `redis://127.0.0.1:${port}` });
    await worker.waitForLog(withMsg('worker started'), 30_000);

    redis.kill('SIGKILL');
    await once(redis, 'exit');
    await waitFor('the worker to report the second outage', () => worker.lines.filter(withMsg('redis unreachable: retrying in the background')).length === 2);
    expectNoDumps(worker);

    worker.kill('SIGTERM');
    expect(await exitOf(worker)).toEqual({ code: 0, signal: null });
  });

  test('npm start (dist/start.js) with Postgres at a closed port names DATABASE_URL and how to get one', async () => {
    const port = await freePort();
    const launcher = run('start', { DATABASE_URL: `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/octo_sync` });
    expect(await exitOf(launcher)).toEqual({ code: 1, signal: null });
    const said = launcher.stderrTail();
    expect(said).toContain(`postgres unreachable at postgresql://127.0.0.1:${port}/octo_sync (DATABASE_URL)`);
    expect(said).toContain(HINT);
    expect(said).not.toContain(PASSWORD);
  });

  test('npm run db:migrate (dist/migrate.js) with Postgres at a closed port names DATABASE_URL and how to get one', async () => {
    const port = await freePort();
    const migrate = run('migrate', { DATABASE_URL: `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/octo_sync` });
    expect(await exitOf(migrate)).toEqual({ code: 1, signal: null });
    const line = migrate.lines.find(withMsg('postgres unreachable'));
    expect(line).toMatchObject({ level: 'fatal', variable: 'DATABASE_URL', url: `postgresql://127.0.0.1:${port}/octo_sync`, code: 'ECONNREFUSED' });
    expect(line?.hint).toContain(HINT);
    expect(JSON.stringify(migrate.lines) + migrate.stderrTail()).not.toContain(PASSWORD);
  });

  test('npm start (dist/start.js) with Redis at a closed port: both services say so once, and the first SIGTERM stops all three', async () => {
    const port = await freePort();
    const launcher = run('start', { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}`, REDIS_DOWN_REMINDER_MS: '1000' });
    await launcher.waitForLog(withMsg('redis still unreachable', 'gateway'), 60_000);
    await launcher.waitForLog(withMsg('redis still unreachable', 'worker'), 60_000);
    for (const name of ['gateway', 'worker']) expect(launcher.lines.filter(withMsg('redis unreachable: retrying in the background', name))).toHaveLength(1);
    expectNoDumps(launcher);
    const children = pidsIn(launcher);
    expect(children.size).toBe(2);

    launcher.kill('SIGTERM');
    expect(await exitOf(launcher)).toEqual({ code: 0, signal: null });
    expect(launcher.lines.filter((line) => String(line.msg).startsWith('stopped')).map((line) => line.name).sort()).toEqual(['gateway', 'worker']);
    for (const pid of children) expect(isAlive(pid)).toBe(false);
  });

  /** A private redis-server on `port` (with a password, as the services' REDIS_URL says), once it answers. */
  async function startRedis(port: number): Promise<ChildProcess> {
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', PASSWORD, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
    privateRedis.push(redis);
    let out = '';
    redis.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    await waitFor(`redis-server on port ${port}`, () => out.includes('Ready to accept connections'));
    return redis;
  }
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** The process ids in a process's log lines (a launcher's are its children's). */
function pidsIn(service: ServiceProcess): Set<number> {
  return new Set(service.lines.map((line) => line.pid).filter((pid): pid is number => typeof pid === 'number'));
}

/** Kills `pid` only if it still runs one of this run's compiled services (a pid can be reused). */
function killIfOurs(pid: number): void {
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdline)) return;
  const args = readFileSync(cmdline, 'utf8').split('\0');
  if (args.some((arg) => arg.startsWith(compiledDir()))) process.kill(pid, 'SIGKILL');
}
