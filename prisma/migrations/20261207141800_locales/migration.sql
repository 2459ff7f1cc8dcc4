-- Languages: the locales a sync fetches, the language the catalog rows are in, and per other
-- locale the localised fields of each product, option and unit with their own hash, and the
-- digest of the locale's last answer (an unchanged locale is skipped without parsing).
ALTER TABLE integrations
  ADD COLUMN locales text[] NOT NULL DEFAULT '{en}' CHECK (cardinality(locales) BETWEEN 1 AND 10),
  ADD COLUMN catalog_locale text;

CREATE TABLE catalog_localizations (
  integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE ON UPDATE CASCADE,
  product_octo_id text NOT NULL,
  option_octo_id text NOT NULL DEFAULT '',
  unit_octo_id text NOT NULL DEFAULT '',
  locale text NOT NULL,
  content jsonb NOT NULL,
  content_hash text NOT NULL,
  raw_hash text,
  updated_at timestamptz(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (integration_id, locale, product_octo_id, option_octo_id, unit_octo_id)
);

CREATE TABLE catalog_locale_states (
  integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE ON UPDATE CASCADE,
  locale text NOT NULL,
  payload_digest text,
  checked_at timestamptz(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (integration_id, locale)
);
