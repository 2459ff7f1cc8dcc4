-- Drift watch: each integration's policy for a catalog whose shape changed, the shape it last
-- accepted (and the one a quarantine or block holds back), and the audit entries of both.
CREATE TYPE "DriftPolicy" AS ENUM ('accept', 'quarantine', 'block');

ALTER TABLE integrations ADD COLUMN drift_policy "DriftPolicy" NOT NULL DEFAULT 'accept';

ALTER TYPE "IntegrationEventType" ADD VALUE 'supplier_drift';
ALTER TYPE "IntegrationEventType" ADD VALUE 'supplier_drift_accepted';

CREATE TABLE catalog_shapes (
  integration_id uuid PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE ON UPDATE CASCADE,
  hash text NOT NULL,
  shape jsonb NOT NULL,
  pending_hash text,
  pending_shape jsonb,
  pending_drift jsonb,
  pending_since timestamptz(3),
  updated_at timestamptz(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
