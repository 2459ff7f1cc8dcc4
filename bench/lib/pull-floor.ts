import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { PullTarget } from '@octo-sync/db';
import { createSupplierClient, parseAvailability, type SupplierClient, type SupplierTarget } from '@octo-sync/octo';
import { eachLimited, pullWindow, toSnapshotSlot } from '@octo-sync/worker/src/availability/pull-window';
import { loadWorkerConfig } from '@octo-sync/worker/src/config';

/** What the floor fetches: the worker's environment (its outbound rules and per-supplier bound), the supplier, the options. */
export interface FloorSpec {
  env: Record<string, string>;
  supplier: SupplierTarget;
  targets: PullTarget[];
  daysAhead: number;
  /**
   * `hash`: each answer fetched and hashed (the client hashes while the body streams in), what a
   * pull of an unchanged answer must at least do; `parse`: also parsed and mapped to snapshot
   * slots as the handler maps them, what a pull of a changed answer must at least do.
   */
  mode: 'hash' | 'parse';
}

export interface FloorResult {
  seconds: number;
  /** CPU seconds the floor's process used while timed (fetching, hashing, and parsing and mapping in mode `parse`). */
  cpuSeconds: number;
  requests: number;
  /** Slots parsed (mode `parse`; 0 in mode `hash`). */
  slots: number;
  /** Distinct answer digests seen (one per answer unless two options answer the same bytes). */
  digests: number;
  bytes: number;
}

/**
 * The pull without its writes: every option's `POST /availability` over the same window, through
 * the worker's outbound client with the same per-supplier bound, hashed, and in mode `parse`
 * parsed and mapped to snapshot slots as the handler maps them, then dropped; the second of two
 * passes is timed.
 */
async function fetchAndParse(spec: FloorSpec): Promise<FloorResult> {
  const config = loadWorkerConfig(spec.env);
  const client = createSupplierClient({ ...config.outbound, userAgent: 'octo-sync-bench' });
  try {
    // One pass untimed first: the worker it is compared with has run its code many times (compiled
    // hot, connections open), so a cold pass would be no floor.
    await onePass(spec, client, config.pull.settings.perSupplier);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const pass = await onePass(spec, client, config.pull.settings.perSupplier);
    const cpu = process.cpuUsage(cpuBefore);
    return { seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, requests: spec.targets.length, ...pass };
  } finally {
    await client.close();
  }
}

async function onePass(spec: FloorSpec, client: SupplierClient, perSupplier: number): Promise<Pick<FloorResult, 'slots' | 'digests' | 'bytes'>> {
  let slots = 0;
  let bytes = 0;
  const digests = new Set<string>();
  await eachLimited(spec.targets, perSupplier, async (target) => {
    const window = pullWindow(target.timeZone, spec.daysAhead, new Date());
    const query = { productId: target.productId, optionId: target.optionId, localDateStart: window.from, localDateEnd: window.to };
    const answer = await client.fetchAvailability(spec.supplier, query);
    digests.add(answer.digest);
    if (spec.mode === 'parse') slots += parseAvailability(answer.body).slots.map(toSnapshotSlot).length;
    bytes += answer.bytes;
  });
  return { slots, digests: digests.size, bytes };
}

/**
 * Measures the floor in a process of its own, as the worker is one: in the benchmark's process it
 * would share an event loop with the test supplier serving it.
 */
export function measureFloor(spec: FloorSpec): Promise<FloorResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(__filename)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`pull floor exited ${code}`));
      resolvePromise(JSON.parse(out.trim().split('\n').pop() ?? '{}') as FloorResult);
    });
    child.stdin.end(JSON.stringify(spec));
  });
}

async function childMain(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += (chunk as Buffer).toString('utf8');
  const result = await fetchAndParse(JSON.parse(input) as FloorSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  childMain().catch((err: unknown) => {
    process.stderr.write(`pull floor failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
