import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/octo_sync';

export interface PrismaOptions {
  databaseUrl: string;
  /** Connections in this process's pool. */
  poolSize?: number;
}

/** The one way this project builds a Prisma client: Prisma 7 over the `pg` driver adapter. */
export function createPrisma({ databaseUrl, poolSize = 10 }: PrismaOptions): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  return new PrismaClient({ adapter });
}

export { PrismaClient };
