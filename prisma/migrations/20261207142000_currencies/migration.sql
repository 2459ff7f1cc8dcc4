-- Currencies an integration sells in (the first primary; empty: none asked; a list column as
-- Prisma declares one: nullable, never null in practice), what the supplier
-- answered per asked currency, and the slots' prices per currency beside the slot rows.
ALTER TABLE integrations
  ADD COLUMN currencies text[] DEFAULT ARRAY[]::text[],
  ADD COLUMN currency_checks jsonb NOT NULL DEFAULT '{}';

CREATE TABLE availability_slot_prices (
  integration_id uuid NOT NULL,
  option_key bigint NOT NULL,
  availability_id text NOT NULL,
  currency text NOT NULL,
  currency_precision integer,
  pricing jsonb,
  unit_pricing jsonb,
  local_date text NOT NULL,
  answer_key bigint NOT NULL,
  updated_at timestamptz(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT availability_slot_prices_pkey PRIMARY KEY (integration_id, option_key, availability_id, currency),
  CONSTRAINT availability_slot_prices_integration_id_fkey FOREIGN KEY (integration_id) REFERENCES integrations(id) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX availability_slot_prices_integration_id_option_key_local_da_idx
  ON availability_slot_prices (integration_id, option_key, local_date);
