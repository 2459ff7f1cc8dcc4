import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { BENCH_REDIS_URL } from './bench-db';

/** The worker's event-loop delay over a stretch of time, as loop-delay-probe.mjs reports it (ms beyond its sampling interval). */
export interface LoopDelay {
  resolutionMs: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The real worker (`npm run start:worker`'s compiled bundle, built by the bench script) as a child process of the benchmark. */
export interface WorkerProcess {
  pid: number;
  /** Log lines the worker wrote at warn level or above (a failed run shows up here). */
  problems: string[];
  /** The event-loop delay since the previous call (or since start-up); each call starts a new stretch. */
  loopDelay(): Promise<LoopDelay>;
  stop(): Promise<void>;
}

const ROOT = resolve(__dirname, '../..');
const PROBE = pathToFileURL(resolve(__dirname, 'loop-delay-probe.mjs')).href;

/** Where a bench's worker runs: its own database and queue prefix, the local supplier allowed, no schedules, logging at info. */
export interface BenchWorkerSetting {
  databaseUrl: string;
  prefix: string;
  secretsKey: string;
  /** The supplier's `host:port` (allowed although it is loopback). */
  supplierHostPort: string;
}

/** The environment of a bench's worker, plus `extra`. */
export function benchWorkerEnv(setting: BenchWorkerSetting, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: setting.databaseUrl,
    REDIS_URL: BENCH_REDIS_URL,
    QUEUE_PREFIX: setting.prefix,
    SECRETS_KEY: setting.secretsKey,
    OCTO_ALLOWED_HOSTS: setting.supplierHostPort,
    ALLOW_INSECURE_OCTO_URLS: 'true',
    SCHEDULES_ENABLED: 'false',
    LOG_LEVEL: 'info',
    METRICS_PORT: '0',
    ...extra,
  };
}

export async function startWorkerProcess(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<WorkerProcess> {
  // fd 3: the probe's reports, kept apart from the worker's own output.
  const child: ChildProcess = spawn(process.execPath, ['--import', PROBE, ...nodeArgs, 'dist/worker.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const problems: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const started = new Promise<void>((resolveStarted, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.includes('"worker started"')) resolveStarted();
      if (/"level":"(warn|error|fatal)"/.test(line)) problems.push(line.slice(0, 2000));
    });
    child.once('exit', (code) => reject(new Error(`worker exited during start-up (code ${code}): ${stderr}`)));
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    await started;
  } finally {
    clearTimeout(timeout);
  }
  return {
    pid: child.pid!,
    problems,
    loopDelay: loopDelayReader(child),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** Asks the probe for a report (SIGUSR2) and resolves with the next line it writes; reports come back in the order asked. */
function loopDelayReader(child: ChildProcess): () => Promise<LoopDelay> {
  const waiting: Array<{ resolve: (delay: LoopDelay) => void; reject: (err: Error) => void }> = [];
  createInterface({ input: child.stdio[3] as Readable }).on('line', (line) => waiting.shift()?.resolve(JSON.parse(line) as LoopDelay));
  child.once('exit', () => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error('the worker exited before reporting its event-loop delay'));
  });
  return () =>
    new Promise<LoopDelay>((resolveReport, reject) => {
      waiting.push({ resolve: resolveReport, reject });
      child.kill('SIGUSR2');
    });
}
