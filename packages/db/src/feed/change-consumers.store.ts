import type { PrismaClient } from '../generated/prisma/client';
import { NEWEST_POSITION, sequenceChanges } from './change-sequencer';

/** How far one registered consumer is behind the newest position of the feed. */
export interface ConsumerLag {
  name: string;
  /** Positions given that it has not acknowledged. */
  positions: number;
  /** Seconds since the oldest event it has not acknowledged became readable (0 when caught up). */
  seconds: number;
}

/** A consumer's stored cursor. */
export interface ConsumerCursor {
  name: string;
  position: string;
  ackedAt: Date;
}


// $1 the consumer, $2 the position: stored unless it is past the newest position, or behind the
// watermark (a read after it would answer expired: the events it has not read were pruned).
const ACK = `
WITH s AS (SELECT ${NEWEST_POSITION} AS newest, COALESCE((SELECT pruned_through FROM change_feed_state WHERE id = 1), 0) AS pruned),
stored AS (
  INSERT INTO change_feed_consumers AS c (name, position) SELECT $1, $2::bigint FROM s WHERE $2::bigint BETWEEN s.pruned AND s.newest
  ON CONFLICT (name) DO UPDATE SET position = excluded.position, acked_at = now()
  RETURNING c.name, c.position::text AS position, c.acked_at AS "ackedAt"
)
SELECT s.newest::text AS newest, s.pruned::text AS pruned, stored.* FROM s LEFT JOIN stored ON true`;

// Each consumer's positions behind, and since when the first event it has not acknowledged was
// readable: its header's `at` (one probe of the unique index on last_position).
const LAG = `
SELECT c.name, GREATEST(s.newest - c.position, 0)::float8 AS positions,
  GREATEST(COALESCE(EXTRACT(EPOCH FROM now() - (SELECT t.at FROM change_transactions t
    WHERE t.last_position > c.position ORDER BY t.last_position LIMIT 1)), 0), 0)::float8 AS seconds
FROM change_feed_consumers c, (SELECT ${NEWEST_POSITION} AS newest) s
ORDER BY c.name`;

/**
 * Registered consumers of the change feed: a `reader` token's subject names its consumer, whose
 * cursor the server keeps once it acknowledges a position (docs/partner-api.md).
 */
export class ChangeConsumerStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** The consumer's cursor, or null if it never acknowledged one (or was removed). */
  async cursor(name: string): Promise<ConsumerCursor | null> {
    const row = await this.prisma.changeFeedConsumer.findUnique({ where: { name } });
    return row === null ? null : { name: row.name, position: row.position.toString(), ackedAt: row.ackedAt };
  }

  /**
   * Stores `position` as the consumer's cursor (registering it on its first acknowledgement; a
   * consumer may also move back). `ahead` when the position is past the newest one the feed gave;
   * `expired` when it is behind the watermark (retention pruned events after it: nothing stored).
   */
  async ack(name: string, position: bigint): Promise<{ kind: 'acked'; cursor: ConsumerCursor } | { kind: 'ahead'; newest: string } | { kind: 'expired'; prunedThrough: string }> {
    type Row = { newest: string; pruned: string } & ({ name: string; position: string; ackedAt: Date } | { name: null; position: null; ackedAt: null });
    const [row] = await this.prisma.$queryRawUnsafe<Row[]>(ACK, name, position.toString());
    if (row !== undefined && row.name !== null) return { kind: 'acked', cursor: { name: row.name, position: row.position, ackedAt: row.ackedAt } };
    if (row !== undefined && position < BigInt(row.pruned)) return { kind: 'expired', prunedThrough: row.pruned };
    return { kind: 'ahead', newest: row?.newest ?? '0' };
  }

  /** Forgets the consumer (its cursor and its lag gauges); false if it was not registered. */
  async remove(name: string): Promise<boolean> {
    return (await this.prisma.changeFeedConsumer.deleteMany({ where: { name } })).count > 0;
  }

  /** Every registered consumer's lag, after numbering what is pending (so a feed nobody reads shows its backlog). */
  async lag(): Promise<ConsumerLag[]> {
    await sequenceChanges(this.prisma);
    return this.prisma.$queryRawUnsafe<ConsumerLag[]>(LAG);
  }
}
