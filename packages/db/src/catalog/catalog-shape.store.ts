import type { PrismaClient } from '../client';
import type { DriftPolicy } from '../generated/prisma/client';
import { appendChanges, type OutboxSql } from '../feed/change-outbox';
import { recordEvents, SYSTEM_ACTOR } from '../integrations/integration-events.store';
import type { RunTx, StatementPart } from '../runs/run-fence';

export type { DriftPolicy };

/** An integration's stored shapes: the accepted one, and the one a quarantine or block holds back. */
export interface StoredShapes {
  hash: string;
  /** The shape as recorded (packages/octo's `CatalogShape`); opaque here. */
  shape: unknown;
  pendingHash: string | null;
}

/** A run's shape and what it means for the stored ones. */
export type ShapeChange =
  /** The first shape of the integration: the baseline, no drift. */
  | { kind: 'baseline'; hash: string; shape: object }
  /** The accepted shape again: a held shape (the supplier went back) is dropped. */
  | { kind: 'same' }
  /** A new shape: accepted at once (`accept`), or held until an admin accepts it. `announce`: not reported yet (a held shape is reported once). */
  | { kind: 'drift'; accept: boolean; announce: boolean; hash: string; shape: object; drift: object; runId: string };

// The statements that write the shape's row, their parameters numbered from $p (integration id, then the shape's).
const UPSERT_ACCEPTED = (p: number) => `
INSERT INTO catalog_shapes (integration_id, hash, shape) VALUES ($${p}::uuid, $${p + 1}::text, $${p + 2}::jsonb)
ON CONFLICT (integration_id) DO UPDATE SET hash = excluded.hash, shape = excluded.shape,
  pending_hash = NULL, pending_shape = NULL, pending_drift = NULL, pending_since = NULL, updated_at = now()`;

const HOLD = (p: number) => `
UPDATE catalog_shapes SET pending_hash = $${p + 1}::text, pending_shape = $${p + 2}::jsonb, pending_drift = $${p + 3}::jsonb,
  pending_since = CASE WHEN pending_hash = $${p + 1}::text THEN pending_since ELSE now() END, updated_at = now()
WHERE integration_id = $${p}::uuid`;

const DROP_HELD = (p: number) => `
UPDATE catalog_shapes SET pending_hash = NULL, pending_shape = NULL, pending_drift = NULL, pending_since = NULL, updated_at = now()
WHERE integration_id = $${p}::uuid AND pending_hash IS NOT NULL`;

const AUDIT = `INSERT INTO integration_events (integration_id, type, actor, details) VALUES ($1::uuid, 'supplier_drift', $2, $3::jsonb)`;

/**
 * The catalog shapes of the drift watch (see packages/octo catalog-shape.ts): read before a run
 * parses its catalog, written in the run's fenced transaction with the drift's audit entry and
 * `supplier.drift` feed event, and released by an admin's accept.
 */
export class CatalogShapeStore {
  constructor(private readonly prisma: PrismaClient) {}

  async load(integrationId: string): Promise<StoredShapes | null> {
    const row = await this.prisma.catalogShape.findUnique({ where: { integrationId }, select: { hash: true, shape: true, pendingHash: true } });
    return row;
  }

  /** Records a run's shape on its fenced connection: {@link write}, then {@link announce}. */
  async record(tx: RunTx, integrationId: string, change: ShapeChange): Promise<void> {
    const write = this.write(integrationId, change);
    await tx.query(write.sql(1), write.values);
    await this.announce(tx, integrationId, change);
  }

  /**
   * The one statement that writes the shape's row for `change` (see {@link ShapeChange}), as a
   * part another statement of the run's fenced transaction can carry (the run's end).
   */
  write(integrationId: string, change: ShapeChange): StatementPart {
    if (change.kind === 'same') return { sql: DROP_HELD, values: [integrationId] };
    if (change.kind === 'baseline' || change.accept) return { sql: UPSERT_ACCEPTED, values: [integrationId, change.hash, JSON.stringify(change.shape)] };
    return { sql: HOLD, values: [integrationId, change.hash, JSON.stringify(change.shape), JSON.stringify(change.drift)] };
  }

  /** After {@link write}, in the same transaction: a new drift's audit entry and `supplier.drift` feed event, once per shape. */
  async announce(tx: RunTx, integrationId: string, change: ShapeChange): Promise<void> {
    if (change.kind !== 'drift' || !change.announce) return;
    await tx.query(AUDIT, [integrationId, SYSTEM_ACTOR, JSON.stringify({ ...change.drift, run_id: change.runId, hash: change.hash, held: !change.accept })]);
    const sql: OutboxSql = (text, values) => tx.query(text, values);
    await appendChanges(sql, [{ integration_id: integrationId, type: 'supplier.drift', product_octo_id: '', option_octo_id: null, unit_octo_id: null, availability_id: null, content_hash: change.hash }]);
  }

  /** The held shape and its drift, or null when none is held. */
  async pending(integrationId: string): Promise<{ hash: string; drift: unknown; since: Date } | null> {
    const row = await this.prisma.catalogShape.findUnique({ where: { integrationId }, select: { pendingHash: true, pendingDrift: true, pendingSince: true } });
    if (!row?.pendingHash || row.pendingSince === null) return null;
    return { hash: row.pendingHash, drift: row.pendingDrift, since: row.pendingSince };
  }

  /** An admin accepts the held shape (it becomes the accepted one); false when none is held. */
  async accept(integrationId: string, actor: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const [held] = await tx.$queryRaw<Array<{ pending_hash: string }>>`
        UPDATE catalog_shapes SET hash = pending_hash, shape = pending_shape, pending_hash = NULL, pending_shape = NULL,
          pending_drift = NULL, pending_since = NULL, updated_at = now()
        WHERE integration_id = ${integrationId}::uuid AND pending_hash IS NOT NULL RETURNING hash AS pending_hash`;
      if (held === undefined) return false;
      await recordEvents(tx, integrationId, [{ type: 'supplier_drift_accepted', actor, details: { hash: held.pending_hash } }]);
      return true;
    });
  }
}
