import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from './generated/prisma/client';

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/octo_sync';

export interface PrismaOptions {
  databaseUrl: string;
  /** Connections in this process's pool. */
  poolSize?: number;
  /**
   * The `pg` pool to run on (shared with raw-connection work such as the catalog COPY writer);
   * when given, `databaseUrl` and `poolSize` are ignored and the caller ends the pool.
   */
  pool?: Pool;
}

/** The one way this project builds a `pg` pool. */
export function createPool({ databaseUrl, poolSize = 10 }: Pick<PrismaOptions, 'databaseUrl' | 'poolSize'>): Pool {
  return new Pool({ connectionString: databaseUrl, max: poolSize });
}

/** The one way this project builds a Prisma client: Prisma 7 over the `pg` driver adapter. */
export function createPrisma({ databaseUrl, poolSize = 10, pool }: PrismaOptions): PrismaClient {
  const adapter = pool === undefined ? new PrismaPg({ connectionString: databaseUrl, max: poolSize }) : new PrismaPg(pool);
  return new PrismaClient({ adapter });
}

export { PrismaClient };
