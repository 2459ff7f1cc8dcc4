import type { Db, SlotPartitionSettings, SlotPartitionWork } from '@octo-sync/db';
import type { JobContext, PayloadOf, availabilityPartitionsJob } from '@octo-sync/jobs';

/**
 * `availability.partitions`: keeps the slots' monthly partitions (SlotPartitionStore): creates the
 * months ahead, drops the months past the retention, prunes undated slots. A step whose lock is
 * not granted within the lock timeout is left for the next tick and logged; `onWork` reports the
 * pass (metrics).
 */
export function createSlotPartitionsHandler({ db, settings, onWork }: { db: Db; settings: SlotPartitionSettings; onWork: (work: SlotPartitionWork) => void }) {
  return async (_payload: PayloadOf<typeof availabilityPartitionsJob>, ctx: JobContext): Promise<SlotPartitionWork> => {
    const work = await db.slotPartitions.maintain(settings, new Date());
    onWork(work);
    if (work.skipped.length > 0) ctx.log.warn({ skipped: work.skipped }, 'slot partition steps waited past the lock timeout: left for the next tick');
    ctx.log.info(work, 'slot partitions kept');
    return work;
  };
}
