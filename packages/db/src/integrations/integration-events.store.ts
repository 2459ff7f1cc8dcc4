import type { PrismaClient } from '../client';
import type { IntegrationEvent, IntegrationEventType } from '../generated/prisma/client';
import type { Prisma } from '../generated/prisma/client';
import type { PruneBudget } from '../runs/sync-run-retention';
import { pruneIntegrationEvents } from './integration-retention';

export type { IntegrationEvent, IntegrationEventType };

/** The actor of a change made outside any API call (tests, scripts, the worker). */
export const SYSTEM_ACTOR = 'system';

/** One audit entry to write: what happened, who did it, and non-secret facts about it. */
export interface NewIntegrationEvent {
  type: IntegrationEventType;
  actor: string;
  details?: Prisma.InputJsonObject;
}

type EventWriter = Pick<Prisma.TransactionClient, 'integrationEvent'>;

/** Appends audit entries, in the transaction of the change they describe. */
export async function recordEvents(tx: EventWriter, integrationId: string, events: readonly NewIntegrationEvent[], at = new Date()): Promise<void> {
  if (events.length === 0) return;
  await tx.integrationEvent.createMany({
    data: events.map((e) => ({ integrationId, type: e.type, actor: e.actor, at, ...(e.details === undefined ? {} : { details: e.details }) })),
  });
}

/**
 * An integration's audit trail: who changed what, when. Entries are written by the stores that
 * make the changes ({@link recordEvents}); this reads them.
 */
export class IntegrationEventStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Newest first, one page (1-based). */
  async list(integrationId: string, page: number, pageSize: number): Promise<{ items: IntegrationEvent[]; totalCount: number }> {
    const where = { integrationId };
    const [items, totalCount] = await this.prisma.$transaction([
      this.prisma.integrationEvent.findMany({ where, orderBy: [{ at: 'desc' }, { id: 'desc' }], skip: (page - 1) * pageSize, take: pageSize }),
      this.prisma.integrationEvent.count({ where }),
    ]);
    return { items, totalCount };
  }

  /** Records one entry outside another change (an admin's forced sync). */
  async record(integrationId: string, event: NewIntegrationEvent): Promise<void> {
    await recordEvents(this.prisma, integrationId, [event]);
  }

  /** Retention: deletes entries written before `before`, in bounded batches. */
  prune(before: Date, budget: PruneBudget): Promise<number> {
    return pruneIntegrationEvents(this.prisma, before, budget);
  }
}
