// `npm start`: applies pending migrations, then runs the gateway and one worker until stopped.
// Ctrl-C (SIGINT) or SIGTERM stops both cleanly; if either exits on its own, the other is stopped
// too and the exit code says it failed. For production, run `start:gateway` and `start:worker`
// as separate processes and scale the workers.
//
// Runs compiled (`npm start` builds first, into dist/): it starts the gateway and the worker
// bundled beside it, the same files production runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_DATABASE_URL, describePostgresFailure, migrate } from '@octo-sync/db';

function run(bundle: string): ChildProcess {
  // Logs are for the person at this terminal, even when its output is piped through a pager.
  const env = { ...process.env, LOG_FORMAT: process.env.LOG_FORMAT || 'pretty' };
  // Their own process group: a Ctrl-C reaches them once, from us, not a second time from the terminal
  // (a second signal means "exit now" to a service).
  return spawn(process.execPath, [join(__dirname, bundle)], { stdio: 'inherit', env, detached: true });
}

const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;

/** Why the start failed, for the person at the terminal: which service, where, and what to do. */
function explain(err: unknown): string {
  const failure = describePostgresFailure(err, databaseUrl);
  const reason = err instanceof Error ? err.message : String(err);
  if (failure === undefined) return `start failed: ${reason}\n`;
  return `start failed: ${failure.problem} at ${failure.url} (${failure.variable}): ${reason}\n  ${failure.hint}\n`;
}

async function main(): Promise<void> {
  const result = await migrate({ databaseUrl });
  process.stdout.write(`migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied\n`);

  const children = [run('gateway.js'), run('worker.js')];
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopAll(signal));

  const exits = children.map(
    (child) =>
      new Promise<number>((done) =>
        child.once('exit', (code) => {
          // One of them stopped by itself: take the other one down as well.
          if (!stopping) stopAll('SIGTERM');
          done(stopping && code === 0 ? 0 : (code ?? 1));
        }),
      ),
  );
  const codes = await Promise.all(exits);
  process.exitCode = codes.every((c) => c === 0) ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stderr.write(explain(err));
  process.exitCode = 1;
});
