import type { PrismaClient } from '../client';
import type { IntegrationEvent, IntegrationEventType } from '../generated/prisma/client';
import type { Prisma } from '../generated/prisma/client';
import { COUNT_CAP, offsetOf, toListPage, type ListPage } from '../paging';
import type { PruneBudget } from '../runs/sync-run-retention';
import { pruneIntegrationEvents } from './integration-retention';

export type { IntegrationEvent, IntegrationEventType };

/** The audit trail's sort key, newest first: `at` (ISO 8601) and the entry's id (decimal). */
export type IntegrationEventListKey = readonly [at: string, id: string];

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

  /** Newest first, one page (1-based), or the page after `after` (keyset). */
  async list(integrationId: string, page: number, pageSize: number, after?: IntegrationEventListKey): Promise<ListPage<IntegrationEvent, IntegrationEventListKey>> {
    const where = { integrationId };
    const seek = after ? { ...where, OR: [{ at: { lt: new Date(after[0]) } }, { at: new Date(after[0]), id: { lt: BigInt(after[1]) } }] } : where;
    const [rows, counted] = await this.prisma.$transaction([
      this.prisma.integrationEvent.findMany({ where: seek, orderBy: [{ at: 'desc' }, { id: 'desc' }], skip: offsetOf({ page, pageSize, after }), take: pageSize + 1 }),
      this.prisma.integrationEvent.count({ where, take: COUNT_CAP + 1 }),
    ]);
    return toListPage(rows, pageSize, counted, (r): IntegrationEventListKey => [r.at.toISOString(), r.id.toString()]);
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
