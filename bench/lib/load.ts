import { spawn } from 'node:child_process';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  body?: string;
  /** Replace each `[<id>]` in the body with a fresh id per request (autocannon's --idReplacement). */
  idReplacement?: boolean;
  /** Requests per second over all connections (autocannon's --overallRate); as fast as answered when absent. */
  overallRate?: number;
}

export interface LoadResult {
  requests: number;
  perSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  statuses: Record<string, number>;
  errors: number;
}

const AUTOCANNON = require.resolve('autocannon/autocannon.js');

/**
 * Load from a separate process (autocannon's CLI), so the load generator does not share the
 * server's event loop. Bounded by `durationS`; only ever pointed at 127.0.0.1.
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = new URL(options.url);
  if (target.hostname !== '127.0.0.1') throw new Error('load is only ever sent to 127.0.0.1');
  const args = [AUTOCANNON, '--json', '-c', String(options.connections), '-d', String(options.durationS), '-m', options.method ?? 'GET'];
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}=${v}`);
  if (options.body !== undefined) args.push('-b', options.body);
  if (options.idReplacement) args.push('--idReplacement');
  if (options.overallRate !== undefined) args.push('--overallRate', String(options.overallRate));
  args.push(options.url);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), (options.durationS + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`autocannon exited ${code}: ${err.slice(-2000)}`));
      const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
        requests: { total: number; average: number };
        latency: { p50: number; p99: number };
        duration: number;
        errors: number;
        timeouts: number;
        statusCodeStats?: Record<string, { count: number }>;
        '2xx': number;
        non2xx: number;
      };
      const statuses = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]));
      resolvePromise({
        requests: r.requests.total,
        perSecond: Math.round(r.requests.total / r.duration),
        latencyP50Ms: r.latency.p50,
        latencyP99Ms: r.latency.p99,
        statuses,
        errors: r.errors + r.timeouts,
      });
    });
  });
}
