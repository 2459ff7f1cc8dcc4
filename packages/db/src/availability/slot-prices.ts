/*
 * Slot prices per currency (`availability_slot_prices`): one row per (slot, currency), written by
 * the pull answer asked in that currency, beside the slot row (which holds the answer of the
 * primary currency, or of none asked, in `raw`). A row is keyed by the slot's option key and id,
 * not its partition: prices follow the slot wherever its start moves it.
 */

/** One slot's prices in one currency, as the pull statements take it (snake_case: jsonb_to_recordset). */
export interface SlotPriceRow {
  product_octo_id: string;
  option_octo_id: string;
  availability_id: string;
  currency: string;
  currency_precision: number | null;
  pricing: unknown;
  unit_pricing: unknown;
  /** The slot's local date (`YYYY-MM-DD`), or its window's first date when it has no start. */
  local_date: string;
  /** The receive key of the answer (decimal string). */
  answer_key: string;
}

// $1 the integration, $2 [SlotPriceRow]: upserts each row under its option's key (created before
// the transaction, as for slots: AvailabilityStore.ensureOptionKeys), in one order (option key,
// slot id, currency) so concurrent writers lock rows alike; writes only what differs, and never
// lets an older answer overwrite a newer one's prices.
export const UPSERT_PRICES = `
INSERT INTO availability_slot_prices AS t (integration_id, option_key, availability_id, currency, currency_precision, pricing,
  unit_pricing, local_date, answer_key, updated_at)
SELECT $1::uuid, o.option_key, r.availability_id, r.currency, r.currency_precision, r.pricing, r.unit_pricing, r.local_date, r.answer_key, now()
FROM jsonb_to_recordset($2::jsonb) AS r(product_octo_id text, option_octo_id text, availability_id text, currency text,
  currency_precision integer, pricing jsonb, unit_pricing jsonb, local_date text, answer_key bigint)
JOIN slot_options o ON o.integration_id = $1::uuid AND o.product_octo_id = r.product_octo_id AND o.option_octo_id = r.option_octo_id
ORDER BY o.option_key, r.availability_id COLLATE "C", r.currency COLLATE "C"
ON CONFLICT (integration_id, option_key, availability_id, currency) DO UPDATE SET
  currency_precision = excluded.currency_precision, pricing = excluded.pricing, unit_pricing = excluded.unit_pricing,
  local_date = excluded.local_date, answer_key = excluded.answer_key, updated_at = now()
WHERE t.answer_key < excluded.answer_key
  AND (t.currency_precision, t.pricing, t.unit_pricing, t.local_date) IS DISTINCT FROM
    (excluded.currency_precision, excluded.pricing, excluded.unit_pricing, excluded.local_date)`;

// $1 the integration, $2 [{product_octo_id, option_octo_id}], $3 a local date: the prices of
// those options' slots dated before $3 (the retention of the pull marks, PRUNE_MARKS), whose slots
// are pruned and can change no more.
export const PRUNE_PRICES = `
DELETE FROM availability_slot_prices p
USING slot_options o, jsonb_to_recordset($2::jsonb) AS r(product_octo_id text, option_octo_id text)
WHERE o.integration_id = $1::uuid AND o.product_octo_id = r.product_octo_id AND o.option_octo_id = r.option_octo_id
  AND p.integration_id = $1::uuid AND p.option_key = o.option_key AND p.local_date < $3::text`;

// $1 the integration, $2 {"<currency>": {honoured, answered, checked_at}}: the last answer per
// asked currency, merged over the earlier ones.
export const RECORD_CURRENCY_CHECKS = `
UPDATE integrations SET currency_checks = currency_checks || $2::jsonb WHERE id = $1::uuid`;
