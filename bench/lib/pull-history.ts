import type { Db } from '@octo-sync/db';

/** Where the history goes: `times` slots a day, on `days` local dates outside the pull window. */
export interface HistorySpec {
  /** Local times of day, `HH:MM`, as the calendar's. */
  times: readonly string[];
  /** How many dates: the most recent `pastDays` before today, the rest after the window. */
  days: number;
  pastDays: number;
  /** The pull window's last day is today plus this many days (UTC: the bench's products are in UTC). */
  daysAhead: number;
}

function dayOffset(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** The dates of {@link HistorySpec}: the past ones, then the ones after the window. */
function historyDates(spec: HistorySpec): string[] {
  const past = Array.from({ length: spec.pastDays }, (_v, i) => dayOffset(-1 - i));
  const ahead = Array.from({ length: spec.days - spec.pastDays }, (_v, i) => dayOffset(spec.daysAhead + 2 + i));
  return [...past, ...ahead];
}

/**
 * Stores, for every option of the integration, a slot per date and time of `spec`: slots the
 * pull window never covers (yesterday and before, or after today + `daysAhead` + 1, which keeps a
 * day's margin for a product time zone ahead of UTC). Then vacuums and analyses the table, as
 * autovacuum would by the time a real history has grown, so the planner sees the table as it is.
 * Returns how many slots were stored.
 */
export async function storeHistory(db: Db, integrationId: string, spec: HistorySpec): Promise<number> {
  const { rowCount } = await db.pool.query(
    `INSERT INTO availability_slots (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id, local_date_time_start,
       starts_at, status, vacancies, capacity, raw, order_key, order_source, last_received, last_snapshot)
     SELECT p.integration_id, slot_option_key(p.integration_id, p.octo_id, o.octo_id), slot_date_of(x.start), p.octo_id, o.octo_id, x.start, x.start, x.start::timestamptz, 'AVAILABLE', 10, 10,
       jsonb_build_object('id', x.start, 'localDateTimeStart', x.start, 'status', 'AVAILABLE', 'vacancies', 10, 'capacity', 10), 1, 'received_at', 1, 1
     FROM products p JOIN product_options o ON o.product_id = p.id
     CROSS JOIN unnest($2::text[]) AS d(day) CROSS JOIN unnest($3::text[]) AS t(time)
     CROSS JOIN LATERAL (SELECT d.day || 'T' || t.time || ':00+00:00' AS start) x
     WHERE p.integration_id = $1::uuid`,
    [integrationId, historyDates(spec), spec.times],
  );
  await settleTable(db);
  return rowCount ?? 0;
}

/** Vacuums and analyses the slot table (visibility map and planner statistics up to date). */
export async function settleTable(db: Db): Promise<void> {
  await db.pool.query('VACUUM ANALYZE availability_slots');
}
