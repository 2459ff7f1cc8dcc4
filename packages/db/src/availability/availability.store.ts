import { appendChanges, prismaSql, slotEvents, WRITTEN_SLOT_SQL, type WrittenSlot } from '../feed/change-outbox';
import type { PrismaClient } from '../client';
import { answeredSince, PUSH_IS_NEWER, slotLockOrder } from './slot-order';
import { ENSURE_OPTION_KEYS, keyDate, moveMisplaced, optionKeyOf, PLACEMENT_SQL, upsertSlotIds, type Placement } from './slot-placement';

/** One slot change, ready for the database (snake_case: it goes through jsonb_to_recordset). */
export interface SlotRow {
  integration_id: string;
  product_octo_id: string;
  option_octo_id: string;
  availability_id: string;
  local_date_time_start: string | null;
  starts_at: string | null;
  status: string | null;
  vacancies: number | null;
  capacity: number | null;
  /** The key within its source (a decimal string: receive keys exceed 2^53). */
  order_key: string;
  order_source: 'sequence' | 'updated_at' | 'received_at';
  /** When the gateway received the change (every change has one): breaks `updated_at` ties. */
  received_key: string;
  /** The OCTO availability object as sent (nested form), or null. */
  raw: unknown;
}

export interface SlotKey {
  integration_id: string;
  product_octo_id: string;
  option_octo_id: string;
  availability_id: string;
}

export function slotKey(row: SlotKey): string {
  return `${row.integration_id}\u0000${row.product_octo_id}\u0000${row.option_octo_id}\u0000${row.availability_id}`;
}

export function optionKey(row: Pick<SlotKey, 'integration_id' | 'product_octo_id' | 'option_octo_id'>): string {
  return `${row.integration_id}\u0000${row.product_octo_id}\u0000${row.option_octo_id}`;
}

/**
 * Availability slots. The ordering rule lives in the database, in the one upsert statement (its
 * condition is `slot-order.ts`'s): each slot keeps the newest key it applied per ordering source,
 * and a change is written only if its key is newer than that of its own source (whatever other
 * sources applied in between). Row locks taken by ON CONFLICT serialise concurrent writers, so no
 * two workers can apply changes to a slot out of order, whatever the timing.
 */
export class AvailabilityStore {
  /** `changeFeed`: whether slot writes append their changes to the change feed. */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly changeFeed: boolean,
  ) {}

  /** Which of these (integration, product, option) exist in the stored catalog (active or not). */
  async knownOptions(rows: ReadonlyArray<Pick<SlotKey, 'integration_id' | 'product_octo_id' | 'option_octo_id'>>): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const found = await this.prisma.$queryRawUnsafe<Array<Pick<SlotKey, 'integration_id' | 'product_octo_id' | 'option_octo_id'>>>(
      KNOWN_OPTIONS,
      JSON.stringify(rows),
    );
    return new Set(found.map(optionKey));
  }

  /** Which of these slots are already stored. */
  async existingSlots(keys: readonly SlotKey[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const found = await this.prisma.$queryRawUnsafe<SlotKey[]>(EXISTING_SLOTS, JSON.stringify(keys));
    return new Set(found.map(slotKey));
  }

  /**
   * Creates the option keys these options' slot rows need, in a statement of its own, before (and
   * outside) the transaction that writes the slots (ENSURE_OPTION_KEYS, slot-placement.ts): a push
   * and a pull call it first; their slot statements only read the keys.
   */
  async ensureOptionKeys(options: ReadonlyArray<Pick<SlotKey, 'integration_id' | 'product_octo_id' | 'option_octo_id'>>): Promise<void> {
    if (options.length === 0) return;
    await this.prisma.$executeRawUnsafe(ENSURE_OPTION_KEYS, JSON.stringify(options.map(({ integration_id, product_octo_id, option_octo_id }) => ({ integration_id, product_octo_id, option_octo_id }))));
  }

  /**
   * Applies rounds of changes, one statement per round, all or nothing, with their change-feed
   * events, and returns per round the keys of the slots it wrote. At most one change per slot in a
   * round (the caller orders a slot's changes across rounds); the statement writes them in the
   * slots' lock order (`slotLockOrder`), so no two writers lock the same slots in opposite orders.
   */
  async apply(rounds: ReadonlyArray<readonly SlotRow[]>): Promise<Array<Set<string>>> {
    const write = async (db: Pick<PrismaClient, '$queryRawUnsafe'>, rows: readonly SlotRow[]) => {
      if (rows.length === 0) return [];
      // The slots' ids first, in their lock order (slot-placement.ts): APPLY_SLOTS, a statement
      // later, then sees where each slot is as committed by any writer that held it before.
      await db.$queryRawUnsafe(LOCK_IDS, JSON.stringify(rows));
      const written = await db.$queryRawUnsafe<Array<WrittenSlot & Placement>>(APPLY_SLOTS, JSON.stringify(rows));
      // A row whose start moved to another month goes to that month's partition (slot-placement.ts).
      await moveMisplaced((sql, values) => db.$queryRawUnsafe(sql, ...values), written);
      return written;
    };
    await this.ensureOptionKeys(rounds.flat());
    const written = await this.prisma.$transaction(
      async (tx) => {
        const done: WrittenSlot[][] = [];
        for (const rows of rounds) done.push(await write(tx, rows));
        if (this.changeFeed) await appendChanges(prismaSql(tx), slotEvents(done.flat()));
        return done;
      },
      { timeout: SLOT_TRANSACTION_MS },
    );
    return written.map((slots) => new Set(slots.map(slotKey)));
  }
}

/**
 * Bounds a slot write's transaction, including its waits for the row locks of slots another
 * write holds (appending its change events waits for no other writer).
 */
const SLOT_TRANSACTION_MS = 60_000;

const KNOWN_OPTIONS = `
SELECT DISTINCT p.integration_id::text AS integration_id, p.octo_id AS product_octo_id, o.octo_id AS option_octo_id
FROM jsonb_to_recordset($1::jsonb) AS r(integration_id uuid, product_octo_id text, option_octo_id text)
JOIN products p ON p.integration_id = r.integration_id AND p.octo_id = r.product_octo_id
JOIN product_options o ON o.product_id = p.id AND o.octo_id = r.option_octo_id`;

const EXISTING_SLOTS = `
SELECT r.integration_id::text AS integration_id, r.product_octo_id, r.option_octo_id, r.availability_id
FROM jsonb_to_recordset($1::jsonb) AS r(integration_id uuid, product_octo_id text, option_octo_id text, availability_id text)
JOIN slot_options o ON o.integration_id = r.integration_id AND o.product_octo_id = r.product_octo_id AND o.option_octo_id = r.option_octo_id
WHERE EXISTS (SELECT 1 FROM availability_slots s WHERE s.integration_id = r.integration_id AND s.option_key = o.option_key
  AND s.availability_id = r.availability_id)`;

// The changes as slot rows (the keys of their source in its column, as the stored row keeps
// them), each with its option's key (slot_options, created before the transaction: ENSURE_OPTION_KEYS).
const PUSHED = `SELECT r.integration_id, ${optionKeyOf('r')} AS option_key,
    r.product_octo_id, r.option_octo_id, r.availability_id, r.local_date_time_start, r.starts_at, r.status, r.vacancies, r.capacity,
    r.order_key, r.order_source, r.raw,
    CASE WHEN r.order_source = 'sequence' THEN r.order_key END AS last_sequence,
    CASE WHEN r.order_source = 'updated_at' THEN r.order_key END AS last_updated_at_ms,
    CASE WHEN r.order_source = 'updated_at' THEN r.received_key END AS last_updated_at_received,
    CASE WHEN r.order_source = 'received_at' THEN r.order_key END AS last_received,
    r.received_key AS last_push_received
  FROM jsonb_to_recordset($1::jsonb) AS r(integration_id uuid, product_octo_id text, option_octo_id text,
    availability_id text, local_date_time_start text, starts_at timestamptz, status text, vacancies integer,
    capacity integer, order_key bigint, order_source text, received_key bigint, raw jsonb)`;

// The changes APPLY_SLOTS may write (not older than a pull answered since), their slot_ids locked.
const LOCK_IDS = upsertSlotIds(`(SELECT c.* FROM (${PUSHED}) c WHERE NOT ${answeredSince('c', 'c.local_date_time_start', 'c.last_push_received')})`);

// A start time or status left out of a change keeps the stored one; vacancies and capacity are
// the supplier's current figures and replace the stored ones (null: unknown or unlimited). `raw`
// is the last OCTO object received (a flat change has none and keeps it); the columns are
// authoritative. Which change is newer, and the order rows are written (locked) in: slot-order.ts;
// which stored row (partition, slot_date) a change meets: keyDate, slot-placement.ts.
// The statement starts with its INSERT: pg_stat_activity shows a statement's first 1 KiB only.
const APPLY_SLOTS = `
INSERT INTO availability_slots AS t (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id,
  local_date_time_start, starts_at, status, vacancies, capacity, order_key, order_source, raw,
  last_sequence, last_updated_at_ms, last_updated_at_received, last_received, last_push_received, updated_at)
SELECT c.integration_id, c.option_key, ${keyDate('c')}, c.product_octo_id, c.option_octo_id, c.availability_id, c.local_date_time_start,
  c.starts_at, c.status, c.vacancies, c.capacity, c.order_key, c.order_source, c.raw,
  c.last_sequence, c.last_updated_at_ms, c.last_updated_at_received, c.last_received, c.last_push_received, now()
FROM (${PUSHED}) c
WHERE NOT ${answeredSince('c', 'c.local_date_time_start', 'c.last_push_received')}
ORDER BY ${slotLockOrder('c')}
ON CONFLICT (integration_id, option_key, availability_id, slot_date) DO UPDATE SET
  local_date_time_start = COALESCE(excluded.local_date_time_start, t.local_date_time_start),
  starts_at = COALESCE(excluded.starts_at, t.starts_at),
  status = COALESCE(excluded.status, t.status),
  vacancies = excluded.vacancies,
  capacity = excluded.capacity,
  raw = COALESCE(excluded.raw, t.raw),
  order_key = excluded.order_key,
  order_source = excluded.order_source,
  last_sequence = COALESCE(excluded.last_sequence, t.last_sequence),
  last_updated_at_ms = COALESCE(excluded.last_updated_at_ms, t.last_updated_at_ms),
  last_updated_at_received = COALESCE(excluded.last_updated_at_received, t.last_updated_at_received),
  last_received = COALESCE(excluded.last_received, t.last_received),
  last_push_received = GREATEST(excluded.last_push_received, t.last_push_received),
  removed_at = NULL,
  updated_at = now()
WHERE ${PUSH_IS_NEWER}
RETURNING ${WRITTEN_SLOT_SQL}, ${PLACEMENT_SQL}`;
