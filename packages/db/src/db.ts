import { SecretBox, type Logger } from '@octo-sync/platform';
import type { Pool } from 'pg';
import { guardPool, guardTransactions } from './checkout-guard';
import { createPool, createPrisma, type ConnectionErrorListener, type PrismaClient } from './client';
import { AlertStore } from './integrations/alerts.store';
import { AvailabilityPullStore } from './availability/availability-pull.store';
import { FreshnessStore } from './availability/freshness';
import { PullSchedule } from './availability/pull-schedule';
import { AvailabilityStore } from './availability/availability.store';
import { SlotPartitionStore } from './availability/slot-partitions.store';
import { CatalogLocaleStore } from './catalog/catalog-locales.store';
import { CatalogReadStore } from './catalog/catalog-read.store';
import { CatalogShapeStore } from './catalog/catalog-shape.store';
import { CatalogStore } from './catalog/catalog.store';
import { ChangeFeedStore } from './feed/change-feed.store';
import { FleetStore } from './integrations/fleet-list';
import { HealthStore } from './integrations/health.store';
import { IdentityStore } from './identity/identity.store';
import { IntegrationChanges } from './integrations/integration-changes';
import { IntegrationEventStore } from './integrations/integration-events.store';
import { IntegrationStore } from './integrations/integrations.store';
import { WebhookSecretStore } from './integrations/webhook-secrets.store';
import { SyncRunStore } from './runs/sync-runs.store';
import { ScheduledRunStore } from './runs/scheduled-runs';

export interface DbOptions {
  databaseUrl: string;
  secretsKey: string;
  poolSize?: number;
  /** Whether catalog runs and slot writes append their changes to the change feed (default true). */
  changeFeed?: boolean;
  /**
   * Where a lost connection is reported (Postgres restarted or ended it). Without one, a Node
   * process warning is emitted: the process never dies of it either way.
   */
  log?: Logger;
}

/** The data-access layer of one process: one `pg` pool, the Prisma client on it, and the stores. */
export interface Db {
  prisma: PrismaClient;
  /** The pool Prisma runs on, for work that needs a raw connection (COPY). */
  pool: Pool;
  integrations: IntegrationStore;
  /** The operator console's fleet list: integrations with their freshness and last run. */
  fleet: FleetStore;
  /** Webhook secrets: the webhook check's credentials, rotation. */
  webhookSecrets: WebhookSecretStore;
  /** The audit trail of every integration. */
  events: IntegrationEventStore;
  runs: SyncRunStore;
  /** The nightly fan-out's run requests, many per statement. */
  scheduledRuns: ScheduledRunStore;
  catalog: CatalogStore;
  /** The catalog's content in the integrations' other locales. */
  locales: CatalogLocaleStore;
  /** What the read API shows of stored catalogs and slots. */
  catalogRead: CatalogReadStore;
  /** The drift watch's catalog shapes (accepted and held). */
  shapes: CatalogShapeStore;
  health: HealthStore;
  availability: AvailabilityStore;
  /** The change feed: reading and pruning (writes append to it in their own transactions). */
  changes: ChangeFeedStore;
  /** Availability pulls: targets, snapshot reconciliation. */
  pulls: AvailabilityPullStore;
  /** When each pull tier of each integration is due. */
  pullSchedule: PullSchedule;
  /** How old the oldest confirmation in each pull tier's window is, per integration and over the fleet. */
  freshness: FreshnessStore;
  /** The slots' monthly partitions: created ahead, old ones dropped (their retention). */
  slotPartitions: SlotPartitionStore;
  /** Partner alerts and their deliveries. */
  alerts: AlertStore;
  /** Stable keys: linking re-created integrations, remap candidates, manual remaps. */
  identity: IdentityStore;
  /** Resolves when Postgres answers; rejects otherwise (readiness checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createDb({ databaseUrl, secretsKey, poolSize, log, changeFeed = true }: DbOptions): Db {
  const onConnectionError: ConnectionErrorListener =
    log === undefined ? (err) => process.emitWarning(err.message, { code: 'DB_CONNECTION_LOST' }) : (err) => log.warn({ err }, 'database connection lost');
  const pool = createPool({ databaseUrl, onConnectionError, ...(poolSize === undefined ? {} : { poolSize }) });
  const prisma = createPrisma(pool, onConnectionError);
  // A transaction never waits for a second pooled connection (docs/architecture.md): refused at once.
  guardPool(pool);
  guardTransactions(prisma);
  const box = new SecretBox(secretsKey);
  const changes = new IntegrationChanges();
  const freshness = new FreshnessStore(pool);
  const webhookSecrets = new WebhookSecretStore(prisma, box, changes);
  return {
    prisma,
    pool,
    integrations: new IntegrationStore(prisma, box, webhookSecrets, changes),
    fleet: new FleetStore(prisma, pool, freshness),
    webhookSecrets,
    events: new IntegrationEventStore(prisma),
    runs: new SyncRunStore(prisma, pool),
    scheduledRuns: new ScheduledRunStore(prisma),
    catalog: new CatalogStore(prisma, pool, changeFeed),
    locales: new CatalogLocaleStore(pool, changeFeed),
    catalogRead: new CatalogReadStore(pool),
    shapes: new CatalogShapeStore(prisma),
    health: new HealthStore(prisma),
    availability: new AvailabilityStore(prisma, changeFeed),
    changes: new ChangeFeedStore(prisma, pool),
    pulls: new AvailabilityPullStore(pool),
    pullSchedule: new PullSchedule(prisma, pool),
    freshness,
    slotPartitions: new SlotPartitionStore(pool),
    alerts: new AlertStore(prisma),
    identity: new IdentityStore(prisma, changeFeed),
    ping: async () => {
      await prisma.$queryRaw`SELECT 1`;
    },
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
