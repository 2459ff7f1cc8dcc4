import type { PrismaClient } from '../client';
import type { PruneBudget } from '../runs/sync-run-retention';

// Oldest first through alert_deliveries_created_at_idx; a pending delivery (still being retried)
// is never deleted, whatever its age.
const PRUNE_ALERT_DELIVERIES = `
DELETE FROM alert_deliveries WHERE id IN (
  SELECT id FROM alert_deliveries WHERE created_at < $1 AND status <> 'pending' ORDER BY created_at LIMIT $2
)`;

// Oldest first through integration_events_at_idx.
const PRUNE_INTEGRATION_EVENTS = `
DELETE FROM integration_events WHERE id IN (
  SELECT id FROM integration_events WHERE at < $1 ORDER BY at LIMIT $2
)`;

async function pruneInBatches(prisma: PrismaClient, statement: string, before: Date, budget: PruneBudget): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < budget.maxBatches; i++) {
    const n = await prisma.$executeRawUnsafe(statement, before, budget.batch);
    deleted += n;
    if (n < budget.batch) break;
  }
  return deleted;
}

/** Deletes settled (delivered or failed) alert deliveries created before `before`, in bounded batches. */
export function pruneAlertDeliveries(prisma: PrismaClient, before: Date, budget: PruneBudget): Promise<number> {
  return pruneInBatches(prisma, PRUNE_ALERT_DELIVERIES, before, budget);
}

/** Deletes audit-trail entries written before `before`, in bounded batches. */
export function pruneIntegrationEvents(prisma: PrismaClient, before: Date, budget: PruneBudget): Promise<number> {
  return pruneInBatches(prisma, PRUNE_INTEGRATION_EVENTS, before, budget);
}
