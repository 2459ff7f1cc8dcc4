import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';

/** The real worker (`npm run start:worker`'s compiled bundle, built by the bench script) as a child process of the benchmark. */
export interface WorkerProcess {
  pid: number;
  /** Log lines the worker wrote at warn level or above (a failed run shows up here). */
  problems: string[];
  stop(): Promise<void>;
}

const ROOT = resolve(__dirname, '../..');

export async function startWorkerProcess(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, 'dist/worker.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
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
