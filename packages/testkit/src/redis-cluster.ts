import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitFor } from './wait';

const run = promisify(execFile);
/** Redis Cluster talks between nodes on the client port plus this. */
const BUS_OFFSET = 10_000;

/** A private Redis Cluster on free loopback ports, torn down by `close()`. */
export interface TestRedisCluster {
  /** Every node as `127.0.0.1:port`, masters first as created. */
  nodes: string[];
  /** `REDIS_CLUSTER_NODES` for the services. */
  env: string;
  /** The node's redis-server process (to kill a master in a failover test). */
  processOf(node: string): ChildProcess;
  /** The node (`host:port`) that serves `key`'s slot as the running nodes see it (a dead master until a replica takes over). */
  masterOf(key: string): Promise<string>;
  /** Starts a killed node again; resolves once it has rejoined as a replica holding its master's data. */
  restart(node: string): Promise<void>;
  close(): Promise<void>;
}

export interface TestRedisClusterOptions {
  masters?: number;
  /** Replicas of each master. */
  replicas?: number;
  /** `cluster-node-timeout`: how long a master must be unreachable before its replica takes over. */
  nodeTimeoutMs?: number;
}

function listenOn(port: number): Promise<number | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}

/** A free port whose cluster-bus port is free too. */
async function freeNodePort(taken: ReadonlySet<number>): Promise<number> {
  for (;;) {
    const port = await listenOn(0);
    if (port === undefined || taken.has(port) || port + BUS_OFFSET > 65_535) continue;
    if ((await listenOn(port + BUS_OFFSET)) !== undefined) return port;
  }
}

async function startNode(dir: string, port: number, nodeTimeoutMs: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)];
  args.push('--cluster-node-timeout', String(nodeTimeoutMs), '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', join(dir, `${port}.log`));
  // A master otherwise waits 5 s for more replicas before it streams the first full sync.
  args.push('--repl-diskless-sync-delay', '0');
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  await waitFor(`redis-server on port ${port}`, () => ping(port), { timeoutMs: 20_000, intervalMs: 50 });
  return child;
}

async function ping(port: number): Promise<boolean> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Not up yet: connect() rejects with this same error, which waitFor retries.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } finally {
    redis.disconnect();
  }
}

async function clusterReady(port: number, nodes: number): Promise<boolean> {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  try {
    const info = await redis.cluster('INFO');
    return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${nodes}`);
  } finally {
    redis.disconnect();
  }
}

/**
 * True once a node is a replica whose full sync is done (with `orMaster`, a master too): a
 * replica that never synced refuses to take over ("disconnected from master for longer than
 * allowed"), so a failover test must not kill its master before then.
 */
async function replicaSynced(port: number, orMaster: boolean): Promise<boolean> {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  try {
    const info = await redis.info('replication');
    if (info.includes('role:master')) return orMaster;
    return info.includes('master_link_status:up') && !info.includes('master_sync_in_progress:1');
  } finally {
    redis.disconnect();
  }
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Asks a running node which node serves `key`'s slot. */
async function masterOf(children: ReadonlyMap<string, ChildProcess>, key: string): Promise<string> {
  const asked = [...children].find(([, child]) => running(child))?.[0];
  if (asked === undefined) throw new Error('no cluster node is running');
  const redis = new Redis({ port: Number(asked.split(':')[1]), host: '127.0.0.1', maxRetriesPerRequest: 0 });
  try {
    const slot = Number(await redis.cluster('KEYSLOT', key));
    const ranges = await redis.cluster('SLOTS');
    const master = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
    if (!master) throw new Error(`no node serves slot ${slot}`);
    return `${master[0]}:${master[1]}`;
  } finally {
    redis.disconnect();
  }
}

/**
 * Starts `masters × (1 + replicas)` redis-server processes in cluster mode on free ports (no
 * persistence, a private directory), joins them with `redis-cli --cluster create` and resolves
 * once every node sees the cluster as ok and every replica has its master's data.
 */
export async function startRedisCluster({ masters = 3, replicas = 0, nodeTimeoutMs = 2_000 }: TestRedisClusterOptions = {}): Promise<TestRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'octo-redis-cluster-'));
  const ports: number[] = [];
  const children = new Map<string, ChildProcess>();
  const close = async () => {
    for (const child of children.values()) if (running(child)) child.kill('SIGKILL');
    await Promise.all([...children.values()].filter(running).map((c) => once(c, 'exit')));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) ports.push(await freeNodePort(new Set(ports)));
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    for (const [i, port] of ports.entries()) children.set(nodes[i]!, await startNode(dir, port, nodeTimeoutMs));
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 60_000 });
    for (const port of ports) await waitFor(`cluster state ok on port ${port}`, () => clusterReady(port, nodes.length), { timeoutMs: 60_000, intervalMs: 100 });
    for (const port of ports) await waitFor(`the replica on port ${port} to sync`, () => replicaSynced(port, true), { timeoutMs: 60_000, intervalMs: 100 });
    // A restarted node reads its cluster config again and comes back as a replica of the node that took its slots.
    const restart = async (node: string) => {
      const port = Number(node.split(':')[1]);
      children.set(node, await startNode(dir, port, nodeTimeoutMs));
      await waitFor(`the restarted node on port ${port} to sync as a replica`, () => replicaSynced(port, false), { timeoutMs: 60_000, intervalMs: 100 });
    };
    return { nodes, env: nodes.join(','), processOf: (node) => children.get(node)!, masterOf: (key) => masterOf(children, key), restart, close };
  } catch (err) {
    await close();
    throw err;
  }
}
