import type { Db, DriftPolicy, Integration, ShapeChange, StoredShapes } from '@octo-sync/db';
import { ShapeRecorder, shapeDrift, shapeHash, type CatalogShape, type OctoProduct, type ProductQuarantine, type ShapeDrift, type ShapeHeaders } from '@octo-sync/octo';
import { AppError } from '@octo-sync/platform';
import type { AlertFacts } from '../alerts/alerts';

/**
 * The drift watch of one full catalog run: the shape recorded while its products are mapped, the
 * integration's accepted shape and `drift_policy`, and (once every product is read) what the
 * run's shape means: a baseline, the same shape, or a drift to accept, hold or block.
 */
export class DriftWatch {
  readonly recorder: ShapeRecorder;
  /** Products held back by the `quarantine` policy because they carry a path or type the accepted shape lacks. */
  held = 0;
  /** The run's drift against the accepted shape, once {@link decide}d (null: none). */
  drift: ShapeDrift | null = null;
  /** What the run records of its shape; undefined: nothing to write. */
  change: ShapeChange | undefined;

  private constructor(
    private readonly policy: DriftPolicy,
    private readonly stored: StoredShapes | null,
    private readonly headers: ShapeHeaders,
  ) {
    this.recorder = new ShapeRecorder(this.accepted);
  }

  /** Loads the integration's stored shapes (sent at once; awaited with the fingerprints). */
  static async open(db: Db, integration: Pick<Integration, 'id' | 'driftPolicy'>, headers: ShapeHeaders): Promise<DriftWatch> {
    return new DriftWatch(integration.driftPolicy, await db.shapes.load(integration.id), headers);
  }

  private get accepted(): CatalogShape | null {
    return (this.stored?.shape as CatalogShape | undefined) ?? null;
  }

  /**
   * Records `product`'s shape; under the `quarantine` policy, the quarantine of a product that
   * carries a path or type the accepted shape lacks (it stays as stored until an admin accepts).
   */
  product(product: OctoProduct, index: number): ProductQuarantine | undefined {
    const novel = this.recorder.product(product);
    if (novel === undefined || this.policy !== 'quarantine') return undefined;
    this.held += 1;
    return { productId: product.id, path: `[${index}]`, reason: `held by drift_policy quarantine: ${novel} is new in the catalog's shape (an admin accepts it)` };
  }

  /** Every product is read: what the run's shape is to the stored one. Throws SUPPLIER_DRIFT under `block`. */
  decide(runId: string): void {
    const shape = this.recorder.shape(this.headers);
    const hash = shapeHash(shape);
    const { stored, accepted } = this;
    if (stored === null || accepted === null) {
      this.change = { kind: 'baseline', hash, shape };
      return;
    }
    if (hash === stored.hash) {
      if (stored.pendingHash !== null) this.change = { kind: 'same' };
      return;
    }
    this.drift = shapeDrift(accepted, shape);
    if (this.drift === null) return; // the same paths, listed in another order by an older recorder
    const accept = this.policy === 'accept';
    this.change = { kind: 'drift', accept, announce: accept || stored.pendingHash !== hash, hash, shape, drift: this.drift, runId };
  }

  /** Whether the run fails for its drift (`block`): the shape is recorded first, in a transaction of its own. */
  get blocks(): boolean {
    return this.drift !== null && this.policy === 'block';
  }

  /** Whether the run reports its drift (audit, feed, alert): once per new shape. */
  get announces(): boolean {
    return this.change?.kind === 'drift' && this.change.announce;
  }

  /** The SUPPLIER_DRIFT failure of a blocked run, naming the paths. */
  blocked(): AppError {
    return new AppError('SUPPLIER_DRIFT', `the catalog's shape changed (drift_policy block): ${summary(this.drift!)}; nothing was written. An admin accepts the new shape (POST /admin/{id}/drift/accept)`);
  }

  /** The `supplier.drift` alert's facts. */
  alertFacts(runId: string): AlertFacts {
    const drift = this.drift!;
    const list = (paths: ReadonlyArray<{ path: string }>) => (paths.length === 0 ? null : paths.slice(0, 20).map((p) => p.path).join(', '));
    return {
      run_id: runId,
      drift_policy: this.policy,
      added: list(drift.added),
      removed: list(drift.removed),
      retyped: list(drift.retyped),
      capabilities_removed: drift.capabilities.removed.join(', ') || null,
      held_products: this.held,
    };
  }
}

/** The drift in one line: up to 10 paths of each kind. */
function summary(drift: ShapeDrift): string {
  const parts: string[] = [];
  const list = (label: string, items: readonly string[]) => {
    if (items.length > 0) parts.push(`${label} ${items.slice(0, 10).join(', ')}${items.length > 10 ? ` (+${items.length - 10})` : ''}`);
  };
  list('added', drift.added.map((a) => `${a.path} (${a.types.join('|')})`));
  list('removed', drift.removed.map((r) => r.path));
  list('retyped', drift.retyped.map((r) => `${r.path} (${r.from.join('|')} → ${r.to.join('|')})`));
  list('capabilities dropped', drift.capabilities.removed);
  list('capabilities added', drift.capabilities.added);
  list('headers', [...drift.headers.added.map((h) => `+${h}`), ...drift.headers.removed.map((h) => `-${h}`)]);
  return parts.join('; ');
}
