import { PrismaPg } from '@prisma/adapter-pg';
import { Client, Pool } from 'pg';
import { PrismaClient } from './generated/prisma/client';

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/octo_sync';

/**
 * Hears the error of a connection that Postgres closed while no statement was waiting on it
 * (restart, failover, `pg_terminate_backend`). The connection is unusable afterwards and is
 * dropped (a pool opens a new one on demand); without a listener Node would end the process.
 */
export type ConnectionErrorListener = (err: Error) => void;

/** Where a process's database connections come from. */
export interface PoolOptions {
  databaseUrl: string;
  /** Connections in this process's pool. */
  poolSize?: number;
  onConnectionError: ConnectionErrorListener;
}

/** The one way this project builds a `pg` pool: it always has a listener for its idle connections' errors. */
export function createPool({ databaseUrl, poolSize = 10, onConnectionError }: PoolOptions): Pool {
  // No JIT: every statement here is short, and a plan over the slots' partitions adds up each
  // partition's estimate past jit_above_cost, so Postgres compiled (about 1 s here) statements
  // that run in milliseconds.
  const pool = new Pool({ connectionString: databaseUrl, max: poolSize, options: '-c jit=off' });
  pool.on('error', onConnectionError);
  return pool;
}

/**
 * One `pg` connection outside any pool (migrations, administration), connected, with
 * `onConnectionError` listening. A statement in flight when the connection drops rejects as well.
 */
export async function connectClient(connectionString: string, onConnectionError: ConnectionErrorListener): Promise<Client> {
  const client = new Client({ connectionString });
  client.on('error', onConnectionError);
  await client.connect();
  return client;
}

/**
 * The one way this project builds a Prisma client: Prisma 7 over the `pg` driver adapter, on the
 * given pool (shared with raw-connection work such as the catalog COPY writer; the caller ends it).
 * The pool reports its idle connections' errors to its own listener; `onConnectionError` hears
 * those of the connections Prisma holds.
 */
export function createPrisma(pool: Pool, onConnectionError: ConnectionErrorListener): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(pool, { onConnectionError }) });
}

export { PrismaClient };
