import { optionKey, slotKey, type Db, type SlotRow } from '@octo-sync/db';
import { catalogSyncJob, type JobProducer, type PayloadOf, type SlotChange, type SlotResult, type availabilityApplyJob } from '@octo-sync/jobs';
import { GroupCommit } from '@octo-sync/platform';

export interface AvailabilityDeps {
  db: Db;
  producer: JobProducer;
  /** Most changes written in one statement. */
  maxBatch: number;
}

interface Pending {
  integrationId: string;
  change: SlotChange;
}

function toRow({ integrationId, change }: Pending): SlotRow {
  const start = change.localDateTimeStart ?? null;
  const instant = start === null ? Number.NaN : Date.parse(start);
  return {
    integration_id: integrationId.toLowerCase(),
    product_octo_id: change.productId,
    option_octo_id: change.optionId,
    availability_id: change.availabilityId,
    local_date_time_start: start,
    starts_at: Number.isNaN(instant) ? null : new Date(instant).toISOString(),
    status: change.status ?? null,
    vacancies: change.vacancies ?? null,
    capacity: change.capacity ?? null,
    order_key: change.orderKey,
    order_source: change.orderSource,
  };
}

/** Is `a` ordered after `b`? (Same source: by key; different sources: the later arrival wins.) */
function supersedes(a: SlotRow, b: SlotRow): boolean {
  return a.order_source !== b.order_source || BigInt(a.order_key) > BigInt(b.order_key);
}

/**
 * `availability.apply`: writes slot changes (partner-api.md §4, notify). Changes of many jobs are
 * written together, in one statement (see {@link GroupCommit}); within a batch only the newest change of a slot is
 * sent, the others are answered stale. A change for a product or option we do not know queues
 * one full sync of the integration (joining any sync already queued or running) instead.
 */
export function createApplyAvailabilityHandler({ db, producer, maxBatch }: AvailabilityDeps) {
  const applyBatch = async (items: readonly Pending[]): Promise<SlotResult[]> => {
    const rows = items.map(toRow);
    const known = await db.availability.knownOptions(rows);

    const newest = new Map<string, number>();
    const unknownIntegrations = new Set<string>();
    rows.forEach((row, i) => {
      if (!known.has(optionKey(row))) {
        unknownIntegrations.add(row.integration_id);
        return;
      }
      const key = slotKey(row);
      const current = newest.get(key);
      if (current === undefined || supersedes(row, rows[current]!)) newest.set(key, i);
    });

    const written = await db.availability.apply([...newest.values()].map((i) => rows[i]!));
    for (const integrationId of unknownIntegrations) {
      const { runId } = await db.runs.requestRun(integrationId, 'availability_fallback', { joinRunning: true });
      await producer.enqueue(catalogSyncJob, { integrationId, runId });
    }

    return rows.map((row, i): SlotResult => {
      if (unknownIntegrations.has(row.integration_id) && !known.has(optionKey(row))) return { updated: false, full_sync_queued: true };
      const key = slotKey(row);
      return newest.get(key) === i && written.has(key) ? { updated: true } : { updated: false, stale: true };
    });
  };
  const batcher = new GroupCommit(applyBatch, maxBatch);

  return async ({ integrationId, changes }: PayloadOf<typeof availabilityApplyJob>): Promise<SlotResult[]> =>
    batcher.submit(changes.map((change) => ({ integrationId, change })));
}
