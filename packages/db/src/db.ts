import { SecretBox } from '@octo-sync/platform';
import { createPrisma, type PrismaClient } from './client';
import { AvailabilityStore } from './availability.store';
import { CatalogStore } from './catalog.store';
import { HealthStore } from './health.store';
import { IntegrationStore } from './integrations.store';
import { SyncRunStore } from './sync-runs.store';

export interface DbOptions {
  databaseUrl: string;
  secretsKey: string;
  poolSize?: number;
}

/** The data-access layer of one process: one Prisma client and the stores built on it. */
export interface Db {
  prisma: PrismaClient;
  integrations: IntegrationStore;
  runs: SyncRunStore;
  catalog: CatalogStore;
  health: HealthStore;
  availability: AvailabilityStore;
  /** Resolves when Postgres answers; rejects otherwise (readiness checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createDb({ databaseUrl, secretsKey, poolSize }: DbOptions): Db {
  const prisma = createPrisma({ databaseUrl, ...(poolSize === undefined ? {} : { poolSize }) });
  return {
    prisma,
    integrations: new IntegrationStore(prisma, new SecretBox(secretsKey)),
    runs: new SyncRunStore(prisma),
    catalog: new CatalogStore(prisma),
    health: new HealthStore(prisma),
    availability: new AvailabilityStore(prisma),
    ping: async () => {
      await prisma.$queryRaw`SELECT 1`;
    },
    close: () => prisma.$disconnect(),
  };
}
