import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { generateCatalog } from '@octo-sync/testkit';

/** How the fleet's catalogs are made: supplier `n` serves `generateCatalog` with seed `n + 1`. */
export interface FleetShape {
  suppliers: number;
  products: number;
}

/** One supplier's catalog, as the fleet supplier serves it (and the floor reads it). */
function catalogBody(n: number, products: number): Buffer {
  return Buffer.from(JSON.stringify(generateCatalog({ products, seed: n + 1, idPrefix: `s${n}-p` })));
}

/**
 * Serves every supplier of the fleet from one port: `GET /s/{n}/products` answers supplier `n`'s
 * catalog (compact JSON, with Content-Length). Writes `port <number>` on stdout once listening.
 */
export async function serveFleet({ suppliers, products }: FleetShape): Promise<void> {
  const bodies = Array.from({ length: suppliers }, (_v, n) => catalogBody(n, products));
  const server = createServer((req, res) => {
    const match = /^\/s\/(\d+)\/products$/.exec((req.url ?? '').split('?')[0] ?? '');
    const body = match?.[1] === undefined ? undefined : bodies[Number(match[1])];
    if (req.method !== 'GET' || body === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"NOT_FOUND"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) }).end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`);
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

/** The fleet supplier in a process of its own (`script --serve-supplier`), so its CPU is its own. */
export interface FleetSupplierProcess {
  pid: number;
  /** `http://127.0.0.1:PORT`; supplier `n`'s base URL is `${url}/s/${n}`. */
  url: string;
  hostPort: string;
  stop(): Promise<void>;
}

export async function startFleetSupplier(script: string, shape: FleetShape): Promise<FleetSupplierProcess> {
  const args = ['--import', 'tsx', script, '--serve-supplier', '--integrations', String(shape.suppliers), '--products', String(shape.products)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^port (\d+)$/.exec(line);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`fleet supplier exited during start-up (code ${code})`)));
  });
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
