import type { PrismaClient } from './client';

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
  order_key: string;
  order_source: string;
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
 * Availability slots. The ordering rule lives in the database, in the one upsert statement: a
 * change is written only if the stored change of the same slot is older (same order source, lower
 * key) or was ordered by another source. Row locks taken by ON CONFLICT serialise concurrent
 * writers, so no two workers can apply changes to a slot out of order, whatever the timing.
 */
export class AvailabilityStore {
  constructor(private readonly prisma: PrismaClient) {}

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
   * Applies changes in one statement and returns the keys of the slots it wrote. At most one change
   * per slot (the caller keeps the newest); rows are written in key order so that two batches never
   * lock the same slots in opposite orders.
   */
  async apply(rows: readonly SlotRow[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const sorted = [...rows].sort((a, b) => (slotKey(a) < slotKey(b) ? -1 : 1));
    const written = await this.prisma.$queryRawUnsafe<SlotKey[]>(APPLY_SLOTS, JSON.stringify(sorted));
    return new Set(written.map(slotKey));
  }
}

const KNOWN_OPTIONS = `
SELECT DISTINCT p.integration_id::text AS integration_id, p.octo_id AS product_octo_id, o.octo_id AS option_octo_id
FROM jsonb_to_recordset($1::jsonb) AS r(integration_id uuid, product_octo_id text, option_octo_id text)
JOIN products p ON p.integration_id = r.integration_id AND p.octo_id = r.product_octo_id
JOIN product_options o ON o.product_id = p.id AND o.octo_id = r.option_octo_id`;

const EXISTING_SLOTS = `
SELECT s.integration_id::text AS integration_id, s.product_octo_id, s.option_octo_id, s.availability_id
FROM jsonb_to_recordset($1::jsonb) AS r(integration_id uuid, product_octo_id text, option_octo_id text, availability_id text)
JOIN availability_slots s ON s.integration_id = r.integration_id AND s.product_octo_id = r.product_octo_id
  AND s.option_octo_id = r.option_octo_id AND s.availability_id = r.availability_id`;

// A start time or status left out of a change keeps the stored one; vacancies and capacity are
// the supplier's current figures and replace the stored ones (null: unknown or unlimited).
const APPLY_SLOTS = `
INSERT INTO availability_slots AS t (integration_id, product_octo_id, option_octo_id, availability_id,
  local_date_time_start, starts_at, status, vacancies, capacity, order_key, order_source, updated_at)
SELECT r.integration_id, r.product_octo_id, r.option_octo_id, r.availability_id, r.local_date_time_start,
  r.starts_at, r.status, r.vacancies, r.capacity, r.order_key, r.order_source, now()
FROM jsonb_to_recordset($1::jsonb) AS r(integration_id uuid, product_octo_id text, option_octo_id text,
  availability_id text, local_date_time_start text, starts_at timestamptz, status text, vacancies integer,
  capacity integer, order_key bigint, order_source text)
ON CONFLICT (integration_id, product_octo_id, option_octo_id, availability_id) DO UPDATE SET
  local_date_time_start = COALESCE(excluded.local_date_time_start, t.local_date_time_start),
  starts_at = COALESCE(excluded.starts_at, t.starts_at),
  status = COALESCE(excluded.status, t.status),
  vacancies = excluded.vacancies,
  capacity = excluded.capacity,
  order_key = excluded.order_key,
  order_source = excluded.order_source,
  updated_at = now()
WHERE t.order_source <> excluded.order_source OR t.order_key < excluded.order_key
RETURNING t.integration_id::text AS integration_id, t.product_octo_id, t.option_octo_id, t.availability_id`;
