import type { Pool } from 'pg';
import { appendChanges, type ChangeEventRow } from '../feed/change-outbox';
import type { RunTx } from '../runs/run-fence';
import type { CatalogRemovals } from './catalog-rows';

/** A secondary locale as last stored: its answer's digest, and per product its bytes' and localised fields' hashes. */
export interface StoredLocale {
  payloadDigest: string | null;
  /** By product id: the SHA-256 of its bytes in this locale (null: unknown) and of its own localised fields. */
  products: Map<string, { rawHash: string | null; contentHash: string }>;
}

/** One entity's localised fields in one locale, as written ('' for the option or unit of a product's or option's own row). */
export interface LocalisedRow {
  product_octo_id: string;
  option_octo_id: string;
  unit_octo_id: string;
  content: Record<string, unknown>;
  content_hash: string;
  raw_hash: string | null;
  /** A product's own row sent for its new bytes alone (its fields hash as stored): not a content change. */
  bytes_only?: true;
}

/** What one locale of a run writes, in the run's fenced transaction. */
export interface LocaleWrite {
  locale: string;
  rows: readonly LocalisedRow[];
  /**
   * The digest of the locale's answer (null: parse it again next time, e.g. while a product of it
   * is left out). Absent for a targeted run's rows: the locale's last answer stays as it was.
   */
  payloadDigest?: string | null;
}

/** One stored localisation, as the read API overlays it ('' for the option or unit of a product's or option's own row). */
export interface StoredLocalisation {
  product_octo_id: string;
  option_octo_id: string;
  unit_octo_id: string;
  locale: string;
  content: Record<string, unknown>;
}

/** Rows per upsert statement (each is one `jsonb` parameter). */
const ROWS_PER_UPSERT = 5_000;

// An entity's row is rewritten only when its localised fields changed; a product's own row also
// when only its bytes did (so that the same bytes next time are not parsed). Only rows whose
// fields changed come back: they are the content changes the feed announces.
const UPSERT = `
INSERT INTO catalog_localizations AS l (integration_id, locale, product_octo_id, option_octo_id, unit_octo_id, content, content_hash, raw_hash)
SELECT $1::uuid, $2::text, r.product_octo_id, r.option_octo_id, r.unit_octo_id, r.content, r.content_hash, r.raw_hash
FROM jsonb_to_recordset($3::jsonb) AS r(product_octo_id text, option_octo_id text, unit_octo_id text, content jsonb, content_hash text, raw_hash text)
ON CONFLICT (integration_id, locale, product_octo_id, option_octo_id, unit_octo_id) DO UPDATE
  SET content = excluded.content, content_hash = excluded.content_hash, raw_hash = excluded.raw_hash, updated_at = now()
  WHERE l.content_hash IS DISTINCT FROM excluded.content_hash OR l.raw_hash IS DISTINCT FROM excluded.raw_hash
RETURNING l.product_octo_id, l.option_octo_id, l.unit_octo_id, l.content_hash`;

const SET_STATE = `
INSERT INTO catalog_locale_states (integration_id, locale, payload_digest, checked_at) VALUES ($1::uuid, $2, $3, now())
ON CONFLICT (integration_id, locale) DO UPDATE SET payload_digest = excluded.payload_digest, checked_at = excluded.checked_at`;

// A locale first written by a targeted run has no answer yet: the next full run parses it.
const ENSURE_STATE = `
INSERT INTO catalog_locale_states (integration_id, locale, payload_digest, checked_at) VALUES ($1::uuid, $2, NULL, now())
ON CONFLICT (integration_id, locale) DO NOTHING`;

// A dropped locale's last answer goes with its rows: listed again, it is read whole.
const DROP = `
WITH dropped AS (DELETE FROM catalog_locale_states WHERE integration_id = $1::uuid AND locale = ANY($2::text[]) RETURNING locale)
DELETE FROM catalog_localizations l USING dropped d WHERE l.integration_id = $1::uuid AND l.locale = d.locale`;

// The rows of removed entities in the listed locales ($2): a product's go with its options' and
// units', an option's with its units'. Each locale is looked up by the primary key's prefix. A
// locale that lost rows forgets its last answer: that answer may still list the entity (its read
// was skipped, failed, or kept its unchanged bytes), and if the entity comes back while the locale
// answers the same bytes, skipping them would leave the entity without content in it.
const FORGET_REMOVED = `
WITH gone AS (
  SELECT p AS product_octo_id, NULL::text AS option_octo_id, NULL::text AS unit_octo_id FROM jsonb_array_elements_text($3::jsonb) AS p
  UNION ALL SELECT r.product_octo_id, r.octo_id, NULL FROM jsonb_to_recordset($4::jsonb) AS r(product_octo_id text, octo_id text)
  UNION ALL SELECT r.product_octo_id, r.option_octo_id, r.octo_id FROM jsonb_to_recordset($5::jsonb) AS r(product_octo_id text, option_octo_id text, octo_id text)
), forgotten AS (
  DELETE FROM catalog_localizations l USING unnest($2::text[]) AS s(locale), gone g
  WHERE l.integration_id = $1::uuid AND l.locale = s.locale AND l.product_octo_id = g.product_octo_id
    AND l.option_octo_id = coalesce(g.option_octo_id, l.option_octo_id) AND l.unit_octo_id = coalesce(g.unit_octo_id, l.unit_octo_id)
  RETURNING l.locale
)
UPDATE catalog_locale_states st SET payload_digest = NULL
WHERE st.integration_id = $1::uuid AND st.payload_digest IS NOT NULL AND st.locale IN (SELECT locale FROM forgotten)`;

/**
 * The integration's content in its other locales (the first locale's content is the catalog rows
 * themselves): what a sync diffs a locale's answer against, and its write.
 */
export class CatalogLocaleStore {
  /** `changeFeed`: whether locale writes append their changes to the change feed. */
  constructor(
    private readonly pool: Pool,
    private readonly changeFeed: boolean,
  ) {}

  /** What is stored of `locale`: its last answer's digest and its products' hashes (not their options' and units'); only those of `productIds` when given. */
  async load(integrationId: string, locale: string, productIds?: readonly string[]): Promise<StoredLocale> {
    const named = productIds === undefined ? '' : 'AND product_octo_id = ANY($3::text[])';
    const [state, products] = await Promise.all([
      this.pool.query<{ payload_digest: string | null }>(`SELECT payload_digest FROM catalog_locale_states WHERE integration_id = $1::uuid AND locale = $2`, [integrationId, locale]),
      this.pool.query<{ id: string; raw_hash: string | null; content_hash: string }>(
        `SELECT product_octo_id AS id, raw_hash, content_hash FROM catalog_localizations
         WHERE integration_id = $1::uuid AND locale = $2 AND option_octo_id = '' AND unit_octo_id = '' ${named}`,
        productIds === undefined ? [integrationId, locale] : [integrationId, locale, productIds],
      ),
    ]);
    return { payloadDigest: state.rows[0]?.payload_digest ?? null, products: new Map(products.rows.map((r) => [r.id, { rawHash: r.raw_hash, contentHash: r.content_hash }])) };
  }

  /**
   * Every stored localisation of these products in the integration's `locales` (a read API page: at
   * most 100 products): a locale dropped from the list keeps its rows until the next run, unread.
   */
  async ofProducts(integrationId: string, locales: readonly string[], productIds: readonly string[]): Promise<StoredLocalisation[]> {
    if (productIds.length === 0) return [];
    const { rows } = await this.pool.query<StoredLocalisation>(
      `SELECT product_octo_id, option_octo_id, unit_octo_id, locale, content FROM catalog_localizations
       WHERE integration_id = $1::uuid AND locale = ANY($2::text[]) AND product_octo_id = ANY($3::text[])`,
      [integrationId, locales, productIds],
    );
    return rows;
  }

  /** The locales something is stored in (each has its state: a write records it). */
  async storedLocales(integrationId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ locale: string }>(`SELECT locale FROM catalog_locale_states WHERE integration_id = $1::uuid`, [integrationId]);
    return rows.map((r) => r.locale);
  }

  /** In a run's fenced transaction: deletes these locales' rows and last answers (locales no longer listed). */
  async drop(tx: RunTx, integrationId: string, locales: readonly string[]): Promise<void> {
    if (locales.length > 0) await tx.query(DROP, [integrationId, locales]);
  }

  /** In a run's fenced transaction, after its locales' writes: deletes the rows of the entities it removed in `locales`; a locale that lost rows is read whole next time. */
  async forgetRemoved(tx: RunTx, integrationId: string, locales: readonly string[], removed: CatalogRemovals): Promise<void> {
    const { removedProducts, removedOptions, removedUnits } = removed;
    if (locales.length === 0 || removedProducts.length + removedOptions.length + removedUnits.length === 0) return;
    await tx.query(FORGET_REMOVED, [integrationId, locales, JSON.stringify(removedProducts), JSON.stringify(removedOptions), JSON.stringify(removedUnits)]);
  }

  /**
   * In a run's fenced transaction: upserts a locale's changed rows, records its digest (a full run's) and
   * appends a `<entity>.updated` event with the locale for every entity whose fields changed
   * (when the feed is on). Returns how many entities changed.
   */
  async write(tx: RunTx, integrationId: string, write: LocaleWrite): Promise<number> {
    let changed = 0;
    for (let from = 0; from < write.rows.length; from += ROWS_PER_UPSERT) {
      const slice = write.rows.slice(from, from + ROWS_PER_UPSERT);
      const { rows } = await tx.query<{ product_octo_id: string; option_octo_id: string; unit_octo_id: string; content_hash: string }>(UPSERT, [integrationId, write.locale, JSON.stringify(slice)]);
      // A product row rewritten for its bytes alone comes back too, but its content did not change.
      const bytesOnly = new Set(slice.filter((r) => r.bytes_only === true).map((r) => r.product_octo_id));
      const events = rows.filter((r) => !(r.option_octo_id === '' && bytesOnly.has(r.product_octo_id)));
      changed += events.length;
      if (this.changeFeed && events.length > 0) await appendChanges((sql, values) => tx.query(sql, values), events.map((r) => localeEvent(integrationId, write.locale, r)));
    }
    if (write.payloadDigest === undefined) await tx.query(ENSURE_STATE, [integrationId, write.locale]);
    else await tx.query(SET_STATE, [integrationId, write.locale, write.payloadDigest]);
    return changed;
  }
}

function localeEvent(integrationId: string, locale: string, r: { product_octo_id: string; option_octo_id: string; unit_octo_id: string; content_hash: string }): ChangeEventRow {
  const entity = r.unit_octo_id !== '' ? 'unit' : r.option_octo_id !== '' ? 'option' : 'product';
  return {
    integration_id: integrationId,
    type: `${entity}.updated`,
    product_octo_id: r.product_octo_id,
    option_octo_id: r.option_octo_id === '' ? null : r.option_octo_id,
    unit_octo_id: r.unit_octo_id === '' ? null : r.unit_octo_id,
    availability_id: null,
    content_hash: r.content_hash,
    locale,
  };
}
