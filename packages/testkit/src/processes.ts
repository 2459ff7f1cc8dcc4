import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { compiledDir } from './build';

/** The compiled entry points a test can run: the two services, `npm start`'s launcher and `npm run db:migrate`. */
const ENTRY = { gateway: 'gateway.js', worker: 'worker.js', start: 'start.js', migrate: 'migrate.js' } as const;

export type ServiceKind = keyof typeof ENTRY;

export interface ServiceProcess {
  child: ChildProcess;
  /** Every JSON log line the process printed so far. */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The end of what the process wrote to stderr (where a crash's stack goes). */
  stderrTail(): string;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts the gateway or a worker as a real process, from the compiled bundle that production
 * runs (see {@link compiledDir}), and resolves once it logged that it started.
 */
export async function startService(kind: 'gateway' | 'worker', env: Record<string, string>, startTimeoutMs = 30_000): Promise<ServiceProcess> {
  const service = spawnService(kind, env);
  await service.waitForLog((line) => typeof line.msg === 'string' && line.msg.endsWith(' started'), startTimeoutMs);
  return service;
}

/**
 * Runs a compiled entry point as a real process without waiting for anything: for a process
 * that is not expected to start (a dependency is missing) or that is not a service.
 */
export function spawnService(kind: ServiceKind, env: Record<string, string>): ServiceProcess {
  // METRICS_PORT 0: test processes never bind the fixed metrics port (several run at once); a
  // test that scrapes one passes a free port of its own.
  const childEnv = { ...process.env, LOG_FORMAT: 'json', METRICS_PORT: '0', ...env };
  const child = spawn(process.execPath, [join(compiledDir(), ENTRY[kind])], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }> = [];
  let buffer = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );

  const waitForLog: ServiceProcess['waitForLog'] = (match, timeoutMs = 15_000) => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error(`${kind} did not log the expected line within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
      waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolveLine(line);
        },
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${kind} exited (code ${code}, signal ${signal}) before the expected line; stderr: ${stderr.slice(-2000)}`));
      });
    });
  };

  return { child, lines, waitForLog, exited, stderrTail: () => stderr.slice(-4000), kill: (signal = 'SIGTERM') => child.kill(signal) };
}
