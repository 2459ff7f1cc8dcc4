import type { Pool } from 'pg';

/*
 * How bench:scale fills its database, set-based (INSERT … SELECT over generate_series or over
 * rows the real write path stored), so 10 million slots load in minutes. What depends on the
 * slot and feed layouts is kept to `SLOT_COPY` and `appendEvents` below; every other column is
 * copied as the real pull stored it, by the names the catalog lists.
 */

/** One copy of the measured window's slots: into `integrationId`, every date moved by `shiftDays`. */
export interface Block {
  integrationId: string;
  shiftDays: number;
}

/** Products of one integration, `options` options each, `units` units per option: catalog rows with generate_series. */
export async function loadCatalog(pool: Pool, integrationId: string, shape: { products: number; options: number; units: number }): Promise<number> {
  const products = await pool.query(
    `INSERT INTO products (integration_id, octo_id, time_zone, raw, content_hash)
     SELECT $1::uuid, id, 'UTC', jsonb_build_object('id', id, 'title', 'Product ' || id), md5(id)
     FROM generate_series(1, $2::int) g, LATERAL (SELECT 'p' || lpad(g::text, greatest(4, length(g::text)), '0') AS id) p`,
    [integrationId, shape.products],
  );
  const options = await pool.query(
    `INSERT INTO product_options (product_id, octo_id, raw, content_hash)
     SELECT p.id, o.octo_id, jsonb_build_object('id', o.octo_id), md5(o.octo_id)
     FROM products p, generate_series(1, $2::int) g, LATERAL (SELECT p.octo_id || '-o' || g AS octo_id) o
     WHERE p.integration_id = $1::uuid`,
    [integrationId, shape.options],
  );
  const units = await pool.query(
    `INSERT INTO units (option_id, octo_id, type, raw, content_hash)
     SELECT o.id, 'u' || g, 'ADULT', jsonb_build_object('id', 'u' || g, 'type', 'ADULT'), md5(o.octo_id || g)
     FROM products p JOIN product_options o ON o.product_id = p.id, generate_series(1, $2::int) g
     WHERE p.integration_id = $1::uuid`,
    [integrationId, shape.units],
  );
  return (products.rowCount ?? 0) + (options.rowCount ?? 0) + (units.rowCount ?? 0);
}

/** The slot table's writable columns (not dropped, not generated, without the serial key), as the catalog lists them. */
async function slotColumns(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_attribute a
     WHERE a.attrelid = 'availability_slots'::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
       AND a.attname <> 'id' ORDER BY a.attnum`,
  );
  return rows.map((r) => r.name);
}

/** The measured integration's window, which every block copies: its slots starting in [`from`, `to`). */
interface Source {
  integrationId: string;
  from: Date;
  to: Date;
}

/** How a copy is made: its column expressions where they differ from the source row's, what it joins, what runs first. */
interface SlotCopy {
  overrides: Record<string, string>;
  /** Joined after the source `s` and the blocks `b`. */
  join: string;
  /** Run before the copy. */
  prepare: (pool: Pool, source: Source, blocks: readonly Block[]) => Promise<void>;
}

/**
 * The columns a copied slot does not take from its source row: its integration, its start (and
 * everything derived from it: its partition date, and its id, since the calendar's ids are their
 * starts) moved by the block's days, its write times, and its option key (`slot_options`, one per
 * integration, product and option, created first). The month partitions a copy lands in are
 * created first (`slot_partition_ensure`, the function the partition job uses). The one place that
 * knows the slot layout; the source row is `s`, the block `b` (`integration_id`, `shift`).
 */
const SLOT_COPY: SlotCopy = {
  overrides: {
    integration_id: 'b.integration_id',
    local_date_time_start: `to_char(left(s.local_date_time_start, 19)::timestamp + make_interval(days => b.shift), 'YYYY-MM-DD"T"HH24:MI:SS') || substr(s.local_date_time_start, 20)`,
    availability_id: `to_char(left(s.local_date_time_start, 19)::timestamp + make_interval(days => b.shift), 'YYYY-MM-DD"T"HH24:MI:SS') || substr(s.local_date_time_start, 20)`,
    starts_at: 's.starts_at + make_interval(days => b.shift)',
    slot_date: 's.slot_date + b.shift',
    option_key: 'k.option_key',
    created_at: 'now()',
    updated_at: 'now()',
  },
  join: 'JOIN slot_options k ON k.integration_id = b.integration_id AND k.product_octo_id = s.product_octo_id AND k.option_octo_id = s.option_octo_id',
  prepare: async (pool, source, blocks) => {
    await pool.query(
      `INSERT INTO slot_options (integration_id, product_octo_id, option_octo_id)
       SELECT b.id, o.product_octo_id, o.option_octo_id FROM slot_options o, unnest($2::uuid[]) AS b(id) WHERE o.integration_id = $1::uuid
       ON CONFLICT DO NOTHING`,
      [source.integrationId, [...new Set(blocks.map((b) => b.integrationId))]],
    );
    await pool.query(
      `SELECT slot_partition_ensure('availability_slots', m::date)
       FROM (SELECT DISTINCT date_trunc('month', d) AS m
             FROM unnest($1::int[]) AS b(shift),
               generate_series($2::timestamp + make_interval(days => b.shift - 1), $3::timestamp + make_interval(days => b.shift + 1), interval '1 day') AS d) x`,
      [[...new Set(blocks.map((b) => b.shiftDays))], source.from.toISOString().slice(0, 10), source.to.toISOString().slice(0, 10)],
    );
  },
};

/**
 * Copies the measured integration's stored slots that start in [`from`, `to`) (its window, as its
 * real pull wrote them) once per block. Returns the rows written.
 */
export async function copySlots(pool: Pool, source: Source, blocks: readonly Block[]): Promise<number> {
  const columns = await slotColumns(pool);
  const select = columns.map((c) => SLOT_COPY.overrides[c] ?? `s.${c}`);
  const params = [source.integrationId, blocks.map((b) => b.integrationId), blocks.map((b) => b.shiftDays), source.from, source.to];
  await SLOT_COPY.prepare(pool, source, blocks);
  const client = await pool.connect();
  try {
    // Copies keep their source's content hash: the hash trigger (and every other) is skipped; no
    // measured statement reads a copy's hash.
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    const { rowCount } = await client.query(
      `INSERT INTO availability_slots (${columns.join(', ')})
       SELECT ${select.join(', ')}
       FROM availability_slots s CROSS JOIN unnest($2::uuid[], $3::int[]) AS b(integration_id, shift) ${SLOT_COPY.join}
       WHERE s.integration_id = $1::uuid AND s.starts_at >= $4 AND s.starts_at < $5`,
      params,
    );
    await client.query('COMMIT');
    return rowCount ?? 0;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Appends `count` change events of one integration as one writing transaction would (one
 * unsequenced header, its events numbered from 0): the feed grows with the slots. The one place
 * that knows the feed's layout.
 */
export async function appendEvents(pool: Pool, integrationId: string, count: number): Promise<void> {
  await pool.query(
    `WITH h AS (INSERT INTO change_transactions (ticket, event_count) VALUES (nextval('change_transactions_id_seq'), $2) RETURNING id)
     INSERT INTO change_events (txn_id, idx, integration_id, type, product_octo_id, option_octo_id, availability_id, content_hash)
     SELECT h.id, g - 1, $1::uuid, 'slot.changed', 'p0001', 'p0001-o1', 'bench-' || g, md5(g::text) FROM h, generate_series(1, $2::int) AS g`,
    [integrationId, count],
  );
}

/** The newest position the feed has given. */
export async function newestPosition(pool: Pool): Promise<bigint> {
  const { rows } = await pool.query<{ n: string }>('SELECT sequenced_through::text AS n FROM change_feed_sequencer WHERE id = 1');
  return BigInt(rows[0]?.n ?? '0');
}

/** Rows in the slot table, and the database's size on disk. */
export async function sizeOf(pool: Pool): Promise<{ slots: number; databaseBytes: number }> {
  const { rows } = await pool.query<{ slots: string; bytes: string }>('SELECT (SELECT count(*) FROM availability_slots)::text AS slots, pg_database_size(current_database())::text AS bytes');
  return { slots: Number(rows[0]?.slots), databaseBytes: Number(rows[0]?.bytes) };
}
