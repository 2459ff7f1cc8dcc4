import type { Prisma } from '../generated/prisma/client';

/*
 * The change feed's outbox: how a writing transaction appends its events, without any lock
 * shared with other writers. A transaction's events hang off its own header row in
 * `change_transactions` (one per transaction, found by its transaction id; its events are
 * numbered 0..n-1 in append order), and every append draws the header a fresh ticket from a
 * sequence. Appends come after every row the transaction writes, so of two transactions that write
 * one row, the one that committed first drew the lower ticket (the second waited for its row lock).
 * Positions are given later, per header, by the sequencer (change-sequencer.ts).
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
  | 'slot.closed'
  /** Reserved for the stable-key work of this round: a product's supplier id changed, its `key` did not. */
  | 'product.remapped'
  /** Reserved for this round's supplier-drift detection: the supplier's catalog differs from what it said. */
  | 'supplier.drift';

/** One event as appended (snake_case: it goes through `jsonb_to_recordset`). */
export interface ChangeEventRow {
  integration_id: string;
  type: ChangeType;
  product_octo_id: string;
  option_octo_id: string | null;
  unit_octo_id: string | null;
  availability_id: string | null;
  content_hash: string;
  /** The stable key of the product the event names; left out, it is the product's key as stored when appended (NULL for a product never stored). */
  key?: string | null;
  /** The locale of a localized catalog event (reserved; NULL for now). */
  locale?: string | null;
  /** `product.remapped`: the supplier id the product had before. */
  previous_octo_id?: string | null;
}

/** The smallest connection the outbox needs: a pg client or a Prisma transaction, adapted. */
export type OutboxSql = (sql: string, values: unknown[]) => Promise<unknown>;

/** The outbox's connection in a Prisma transaction. */
export function prismaSql(tx: Pick<Prisma.TransactionClient, '$executeRawUnsafe'>): OutboxSql {
  return (sql, values) => tx.$executeRawUnsafe(sql, ...values);
}

/** Columns an event is written with beside its header and index; `at` comes from its default. */
const EVENT_COLUMNS = 'integration_id, type, product_octo_id, option_octo_id, unit_octo_id, availability_id, content_hash, key, locale, previous_octo_id';

/**
 * Creates this transaction's header, or adds `$n` events to it; either way with a fresh ticket.
 * Returns the header and the index of the first of the `$n` events. `gate`: a condition the header
 * waits for (see {@link appendEventsLast}).
 */
const openHeader = (n: string, gate = 'true') => `
INSERT INTO change_transactions AS h (xact, ticket, event_count)
SELECT pg_current_xact_id()::text::bigint, nextval('change_transactions_id_seq'), k.n FROM (SELECT ${n} AS n) k WHERE k.n > 0 AND ${gate}
ON CONFLICT (xact) WHERE first_position IS NULL
DO UPDATE SET ticket = excluded.ticket, event_count = h.event_count + excluded.event_count
RETURNING h.id AS txn_id, h.event_count - ${n} AS base`;

/**
 * The parts of an append of the JSON events `$<param>`, after a `WITH` (or a comma in one). An
 * event that names a product and brings no `key` carries the product's stable key, as stored when
 * the event is appended (`written`: a part of the same statement returning `octo_id, key` of the
 * products it wrote, which the statement's own snapshot cannot see yet). The stored key is looked
 * up per event, by the products' unique index, only when neither gave one: a join planned for the
 * parameter's default estimate of 100 events read every product of every integration (a hash join
 * over a sequential scan) in each catalog run's append, whose events all name products it wrote.
 */
const appendParts = (param: number, gate?: string, written?: string) => `h AS (${openHeader(`jsonb_array_length($${param}::jsonb)`, gate)})
INSERT INTO change_events (txn_id, idx, ${EVENT_COLUMNS})
SELECT h.txn_id, h.base + r.n - 1, ${EVENT_COLUMNS.split(', ')
  .map((c) => (c === 'key' ? `COALESCE(r.key, ${written === undefined ? '' : 'w.key::text, '}${STORED_KEY})` : `r.${c}`))
  .join(', ')}
FROM h, ROWS FROM (jsonb_to_recordset($${param}::jsonb) AS (integration_id uuid, type text, product_octo_id text,
  option_octo_id text, unit_octo_id text, availability_id text, content_hash text, key text, locale text, previous_octo_id text))
  WITH ORDINALITY AS r(${EVENT_COLUMNS}, n)${
    written === undefined ? '' : `
  LEFT JOIN ${written} w ON w.octo_id = r.product_octo_id`
  }`;

/** The stored key of the product event `r` names (NULL for a product never stored). */
const STORED_KEY = '(SELECT kp.key::text FROM products kp WHERE kp.integration_id = r.integration_id AND kp.octo_id = r.product_octo_id)';

const APPEND_EVENTS = `WITH ${appendParts(1)}`;

/**
 * The append of the JSON events `$<param>` as the last parts of a statement whose `WITH` list
 * writes rows (placed after that list and a comma): one round trip for the writes and their
 * events. `written` is an expression that reads every writing part to its end (`count(*)` of
 * each part's `RETURNING`): the header draws its ticket only once it holds, so the ticket still
 * follows every row the statement writes (a part nobody reads runs at the statement's end).
 * `products`: the part that writes products, returning their `octo_id` and `key`.
 */
export function appendEventsLast(param: number, written: string, products: string): string {
  return appendParts(param, `(${written}) >= 0`, products);
}

/**
 * Appends `events`, in order, to the change feed. Call it last in the writing transaction, after
 * every row it writes: the ticket it draws must come after them (see above). It takes no lock
 * beyond its own header row. Every slot write (pushes and pulls) and the small catalog writes
 * call this one function.
 */
export async function appendChanges(sql: OutboxSql, events: readonly ChangeEventRow[]): Promise<void> {
  if (events.length === 0) return;
  await sql(APPEND_EVENTS, [JSON.stringify(events)]);
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
