import type { Prisma } from '../generated/prisma/client';

/*
 * The change feed's outbox: how a writing transaction appends its events. Positions are taken
 * under one transaction-scoped advisory lock, as the transaction's last statement before COMMIT.
 * Postgres releases that lock only after the commit is visible, so the next appender's positions
 * are higher than every committed one and a reader never sees position N while a lower one is
 * still to appear: the position order is the commit order.
 */

/** What a change event says happened. */
export type ChangeType =
  | 'product.created'
  | 'product.updated'
  | 'product.removed'
  | 'product.restored'
  | 'option.created'
  | 'option.updated'
  | 'option.removed'
  | 'option.restored'
  | 'unit.created'
  | 'unit.updated'
  | 'unit.removed'
  | 'unit.restored'
  | 'slot.changed'
  | 'slot.closed';

/** One event as appended (snake_case: it goes through `jsonb_to_recordset`). */
export interface ChangeEventRow {
  integration_id: string;
  type: ChangeType;
  product_octo_id: string;
  option_octo_id: string | null;
  unit_octo_id: string | null;
  availability_id: string | null;
  content_hash: string;
}

/** The smallest connection the outbox needs: a pg client or a Prisma transaction, adapted. */
export type OutboxSql = (sql: string, values: unknown[]) => Promise<unknown>;

/** The outbox's connection in a Prisma transaction. */
export function prismaSql(tx: Pick<Prisma.TransactionClient, '$executeRawUnsafe'>): OutboxSql {
  return (sql, values) => tx.$executeRawUnsafe(sql, ...values);
}

/** Serialises appenders from their first position to their COMMIT. */
const OUTBOX_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtextextended('octo-sync:change-outbox', 0))`;

/** Columns an event is written with; `position` and `at` come from their defaults. */
const EVENT_COLUMNS = 'integration_id, type, product_octo_id, option_octo_id, unit_octo_id, availability_id, content_hash';

const APPEND_EVENTS = `
INSERT INTO change_events (${EVENT_COLUMNS})
SELECT r.integration_id, r.type, r.product_octo_id, r.option_octo_id, r.unit_octo_id, r.availability_id, r.content_hash
FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (integration_id uuid, type text, product_octo_id text,
  option_octo_id text, unit_octo_id text, availability_id text, content_hash text))
  WITH ORDINALITY AS r(integration_id, type, product_octo_id, option_octo_id, unit_octo_id, availability_id, content_hash, n)
ORDER BY r.n`;

/**
 * Appends `events`, in order, to the change feed. Call it last in the writing transaction, after
 * every row lock the transaction takes (it holds the outbox lock until COMMIT, and a transaction
 * that waited for a row lock while holding it could deadlock with one that holds the row).
 * Every slot write (pushes and pulls) and the small catalog writes call this one function.
 */
export async function appendChanges(sql: OutboxSql, events: readonly ChangeEventRow[]): Promise<void> {
  if (events.length === 0) return;
  await sql(OUTBOX_LOCK_SQL, []);
  await sql(APPEND_EVENTS, [JSON.stringify(events)]);
}

/**
 * A temporary staging table for the events of a bulk write (dropped with the transaction):
 * a catalog run stages its events slice by slice, then {@link publishStaged} moves them at once.
 */
export const CREATE_CHANGE_STAGE = `
CREATE TEMP TABLE change_stage (n bigserial, integration_id uuid, type text, product_octo_id text,
  option_octo_id text, unit_octo_id text, availability_id text, content_hash text) ON COMMIT DROP`;

/** COPY target for staged events (the catalog change log's lines). */
export const COPY_CHANGE_STAGE = `COPY change_stage (${EVENT_COLUMNS}) FROM STDIN`;

/** Moves every staged event into the change feed, in staging order (same rule as {@link appendChanges}). */
export async function publishStaged(sql: OutboxSql): Promise<void> {
  await sql(OUTBOX_LOCK_SQL, []);
  await sql(`INSERT INTO change_events (${EVENT_COLUMNS}) SELECT ${EVENT_COLUMNS} FROM change_stage ORDER BY n`, []);
}

/**
 * What every slot statement returns for its change event (`t` is the `availability_slots` row).
 * The content hash is the slot's own column: the database function `slot_content_hash` over
 * everything stored for the slot as the supplier said it (start, status, vacancies, capacity and
 * raw), kept by a trigger on every write (see the migration `slot_content_hash` and
 * docs/architecture.md); `content_changed` says whether this write changed it or closed or reopened the slot.
 */
export const WRITTEN_SLOT_SQL = `t.integration_id::text AS integration_id, t.product_octo_id, t.option_octo_id, t.availability_id, t.status,
  t.content_hash, t.content_changed`;

/** A written slot as the slot statements return it ({@link WRITTEN_SLOT_SQL}). */
export interface WrittenSlot {
  integration_id: string;
  product_octo_id: string;
  option_octo_id: string;
  availability_id: string;
  status: string | null;
  content_hash: string;
  content_changed: boolean;
}

/**
 * The events of written slots: one per slot whose content this write changed (`slot.closed` when
 * it is now CLOSED, `slot.changed` otherwise); a write that only moved the slot's order keys (an
 * identical re-send) is no change to consumers.
 */
export function slotEvents(written: readonly WrittenSlot[]): ChangeEventRow[] {
  return written.filter((slot) => slot.content_changed).map((slot) => ({
    integration_id: slot.integration_id,
    type: slot.status === 'CLOSED' ? 'slot.closed' : 'slot.changed',
    product_octo_id: slot.product_octo_id,
    option_octo_id: slot.option_octo_id,
    unit_octo_id: null,
    availability_id: slot.availability_id,
    content_hash: slot.content_hash,
  }));
}
