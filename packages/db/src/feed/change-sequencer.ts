import { Prisma, type PrismaClient } from '../generated/prisma/client';

/*
 * The change feed's sequencer: the one place positions are given (docs/architecture.md, "The
 * change feed's position rule"). Sequencers run one at a time, each in one short read-committed
 * transaction: it locks the sequencer row, then, in a statement whose snapshot is taken after the
 * lock (so after the previous sequencer committed), gives every committed unsequenced header a
 * range of positions just past `sequenced_through`, in ticket order, and moves `sequenced_through`
 * to the last. A writer it cannot see commits after its snapshot and is numbered by a later sequencer,
 * past every position given here. Writers never wait for it: it updates only committed headers.
 */

// Locks the sequencer row (creating it if a database lost it); waits while another sequencer runs.
const LOCK = `
INSERT INTO change_feed_sequencer AS s (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = s.id
RETURNING s.sequenced_through::text AS through`;

// $1 the newest position given so far, $2 the most headers to number. Each header records when
// it was numbered: this statement starts after the previous sequencer committed, so `at` follows
// position order (retention's clock, change-feed.store.ts).
const NUMBER = `
WITH pending AS (
  SELECT id, event_count, sum(event_count) OVER (ORDER BY ticket) AS upto
  FROM (SELECT id, ticket, event_count FROM change_transactions WHERE first_position IS NULL ORDER BY ticket LIMIT $2) p
), numbered AS (
  UPDATE change_transactions t
  SET first_position = $1::bigint + p.upto - p.event_count + 1, last_position = $1::bigint + p.upto, at = statement_timestamp()
  FROM pending p WHERE t.id = p.id
  RETURNING t.last_position
)
UPDATE change_feed_sequencer SET sequenced_through = (SELECT max(last_position) FROM numbered)
WHERE id = 1 AND EXISTS (SELECT 1 FROM numbered)
RETURNING (SELECT count(*)::int FROM numbered) AS headers`;

const ANY_PENDING = `SELECT EXISTS (SELECT 1 FROM change_transactions WHERE first_position IS NULL) AS pending`;

/** How long a sequencer may wait for a connection, and then run (mostly waiting for the one before it). */
const SEQUENCER_WAIT_MS = 60_000;

/** The most transaction headers one sequencer transaction numbers (the rest wait for the next). */
/** SQL: the newest position the feed ever had, the last one the sequencer gave or the watermark if later. */
export const NEWEST_POSITION = `GREATEST(COALESCE((SELECT sequenced_through FROM change_feed_sequencer WHERE id = 1), 0),
  COALESCE((SELECT pruned_through FROM change_feed_state WHERE id = 1), 0))`;

export const SEQUENCE_BATCH = 10_000;

/**
 * Numbers every committed unsequenced writing transaction (up to `batch` of them, lowest tickets
 * first); returns how many it numbered. Safe to call from any process at any time: sequencers
 * queue on one row lock, and each is one short transaction of SQL only.
 */
export async function sequenceChanges(prisma: PrismaClient, batch = SEQUENCE_BATCH): Promise<number> {
  if (!(await prisma.$queryRawUnsafe<Array<{ pending: boolean }>>(ANY_PENDING))[0]?.pending) return 0;
  // Read committed whatever the session's default: the numbering statement must take a snapshot
  // after the lock was granted. Under repeatable read the whole transaction would keep the lock
  // statement's snapshot, taken before it waited (Postgres then fails the lock with a
  // serialization error whenever another sequencer ran meanwhile). The timeout covers a wait for
  // the sequencer before it (each is short, but a busy machine queues several).
  return prisma.$transaction(
    async (tx) => {
      const through = (await tx.$queryRawUnsafe<Array<{ through: string }>>(LOCK))[0]?.through ?? '0';
      return (await tx.$queryRawUnsafe<Array<{ headers: number }>>(NUMBER, through, batch))[0]?.headers ?? 0;
    },
    { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted, maxWait: SEQUENCER_WAIT_MS, timeout: SEQUENCER_WAIT_MS },
  );
}
