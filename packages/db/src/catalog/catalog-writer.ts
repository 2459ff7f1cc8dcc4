import { asError } from '@octo-sync/platform';
import type { Pool } from 'pg';
import type { PrismaClient } from '../client';
import type { RunTx } from '../runs/run-fence';
import type { CatalogFingerprints, CatalogRemovals } from './catalog-rows';
import { CatalogChangeLog, type Entity, type RemovedRow } from './catalog-change-log';
import { RowEncoder, type SliceRows } from './catalog-encode';
import { CatalogStage, type StagingRun } from './catalog-stage';
import { rekeyRun, type AppearedProduct, type RekeyOutcome } from '../identity/run-rekey';
import { MERGE_JSON, MERGE_JSON_PUBLISHING, STAGED_ORDER, UPSERT, type RowKind } from './catalog-upserts';

/** Rows per removal statement: large enough to amortise the round trip, small enough for memory. */
const BATCH = 2_000;
/**
 * Most rows a run sends as `jsonb` parameters: a small run (20 products are ~180 rows) then
 * stages nothing; a larger one COPYs its rows into a lane of `catalog_stage` as it reads them.
 */
const JSON_ROWS_MAX = 2_000;

/** The order the merge runs the kinds in: parents before their children. */
const KINDS: readonly RowKind[] = ['products', 'fingerprints', 'options', 'units'];

/** A run, as its writer knows it. */
export interface WriterRun extends StagingRun {
  integrationId: string;
  /** The integration it replaces, when an admin linked them (read at the run's claim): products the run creates take its keys. */
  previousIntegrationId?: string | null;
}

/**
 * Writes one run's changed rows, in two steps, so that the run's fenced transaction holds only
 * SQL. Before it opens: {@link add} takes each slice's rows as the run reads them (kept in memory
 * while the run is small, COPY'd into a leased lane of `catalog_stage` once it is not, the COPY of
 * one slice running while the next is read) and {@link seal} encodes what the transaction will
 * send. In it: {@link merge} (the lane's check, one set-based upsert per table, the removals) and
 * {@link publish} (the change-feed events, last; a small run that removes nothing sends them with
 * its merge instead, in the same statement). {@link release} frees the lane, whatever happened.
 */
export class CatalogRunWriter {
  private kept: SliceRows[] = [];
  private keptRows = 0;
  private readonly counts: Record<RowKind, number> = { products: 0, fingerprints: 0, options: 0, units: 0 };
  private stage: CatalogStage | undefined;
  /** The COPY in flight: its failure is kept, not thrown, until awaited (nobody listens meanwhile). */
  private copying: Promise<Error | undefined> = Promise.resolve(undefined);
  private readonly encoder: RowEncoder;
  private readonly changes: CatalogChangeLog | undefined;
  /** Products the run creates and removes: a supplier's re-key is a pair of them (see rekeyRun). */
  private readonly appeared: AppearedProduct[] = [];
  private gone: readonly string[] = [];
  private sealed: { json: Partial<Record<RowKind, string>>; removals: Array<{ entity: Entity; json: string }>; events?: string } | undefined;

  /** `stored`: the fingerprints the run diffed against. `changeFeed`: whether the run appends its changes to the change feed. */
  constructor(
    private readonly db: { prisma: PrismaClient; pool: Pool },
    private readonly run: WriterRun,
    private readonly stored: CatalogFingerprints,
    changeFeed: boolean,
  ) {
    this.encoder = new RowEncoder(stored);
    this.changes = changeFeed ? new CatalogChangeLog(run.integrationId, stored) : undefined;
  }

  /** Takes one slice's changed rows. Resolves once the previous slice's COPY (if any) is done and this one's has started. */
  async add(rows: SliceRows): Promise<void> {
    const sizes: Record<RowKind, number> = { products: rows.products.length, fingerprints: rows.fingerprints?.length ?? 0, options: rows.options.length, units: rows.units.length };
    for (const kind of KINDS) this.counts[kind] += sizes[kind];
    this.changes?.add(rows);
    for (const p of rows.products) if (!this.stored.products.has(p.octo_id)) this.appeared.push({ octo_id: p.octo_id, reference: p.reference });
    const size = KINDS.reduce((sum, kind) => sum + sizes[kind], 0);
    if (size === 0) return;
    this.kept.push(rows);
    this.keptRows += size;
    if (this.stage === undefined && this.keptRows <= JSON_ROWS_MAX) return;
    await this.copied();
    this.stage ??= await CatalogStage.lease(this.db, this.run);
    const slices = this.kept;
    this.kept = [];
    this.keptRows = 0;
    this.copying = this.stage.copy(this.encoder, slices).then(() => undefined, asError);
  }

  /** Every slice is added and the removals known: waits for the last COPY and encodes the rest before the transaction opens. */
  async seal(removals: CatalogRemovals): Promise<void> {
    await this.copied();
    this.gone = removals.removedProducts;
    const json: Partial<Record<RowKind, string>> = {};
    if (this.stage === undefined) {
      const all = joinSlices(this.kept);
      for (const kind of KINDS) if (this.counts[kind] > 0) json[kind] = this.encoder.json(kind, all);
    }
    const batches = (entity: Entity, items: readonly unknown[]) => chunks(items).map((batch) => ({ entity, json: JSON.stringify(batch) }));
    const removed = [
      ...batches('product', removals.removedProducts.map((octo_id) => ({ octo_id }))),
      ...batches('option', removals.removedOptions),
      ...batches('unit', removals.removedUnits),
    ];
    // A small run that removes nothing knows all its events now: they go with its merge, one round
    // trip fewer in its transaction (each is a wait with the session idle in transaction). Not when
    // products it creates take the keys of a linked integration's (rekeyRun, after the merge): their
    // events must name the keys they end with.
    const takesKeys = this.appeared.length > 0 && (this.run.previousIntegrationId ?? null) !== null;
    const events = this.stage === undefined && removed.length === 0 && !takesKeys ? this.changes?.takeJson() : undefined;
    this.sealed = events === undefined ? { json, removals: removed } : { json, removals: removed, events };
  }

  /** In the fenced transaction: the staged rows' check, the upserts (parents first), the re-keys and the removals. */
  async merge(tx: RunTx): Promise<RekeyOutcome> {
    const sealed = this.sealed;
    if (sealed === undefined) throw new Error('catalog writer: merge before seal');
    const { integrationId } = this.run;
    if (this.stage === undefined) {
      const rows = KINDS.map((kind) => sealed.json[kind] ?? '[]');
      if (sealed.events !== undefined) await tx.query(MERGE_JSON_PUBLISHING, [integrationId, ...rows, sealed.events]);
      else if (KINDS.some((kind) => this.counts[kind] > 0)) await tx.query(MERGE_JSON, [integrationId, ...rows]);
    } else {
      await this.stage.check(tx);
      const { rows, params } = this.stage.source;
      for (const [statement, kind] of STAGED_ORDER) if (this.counts[kind] > 0) await tx.query(UPSERT[statement](rows), [integrationId, ...params]);
    }
    const identity = await rekeyRun(tx, { id: this.run.id, integrationId, previous: this.run.previousIntegrationId ?? null }, this.appeared, this.gone);
    for (const remap of identity.remapped) this.changes?.remapped(remap);
    for (const { entity, json } of sealed.removals) {
      const { rows } = await tx.query<RemovedRow>(`${REMOVE[entity]}\nRETURNING ${REMOVED_KEYS[entity]}`, [integrationId, json]);
      this.changes?.removed(entity, rows);
    }
    return identity;
  }

  /** Appends the run's changes not sent with its merge to the change feed: the last statements before COMMIT. */
  async publish(tx: RunTx): Promise<void> {
    await this.changes?.publish((sql, values) => tx.query(sql, values));
  }

  /** Waits for the COPY in flight and frees the lane, if the run leased one. Call it once the run is done, whatever happened. */
  async release(): Promise<void> {
    await this.copying;
    await this.stage?.release();
  }

  private async copied(): Promise<void> {
    const failure = await this.copying;
    if (failure) throw failure;
  }
}

function joinSlices(slices: readonly SliceRows[]): SliceRows {
  return {
    products: slices.flatMap((s) => s.products),
    options: slices.flatMap((s) => s.options),
    units: slices.flatMap((s) => s.units),
    fingerprints: slices.flatMap((s) => s.fingerprints ?? []),
  };
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

// Removals: $1 is the integration id, $2 a JSON array of the keys of the rows that left the catalog.
const REMOVE: Record<Entity, string> = {
  product: `
UPDATE products t SET active = false, removed_at = now(), updated_at = now()
FROM jsonb_to_recordset($2::jsonb) AS r(octo_id text)
WHERE t.integration_id = $1::uuid AND t.octo_id = r.octo_id AND t.active`,
  option: `
UPDATE product_options t SET active = false, removed_at = now(), updated_at = now()
FROM jsonb_to_recordset($2::jsonb) AS r(product_octo_id text, octo_id text), products p
WHERE p.integration_id = $1::uuid AND p.octo_id = r.product_octo_id
  AND t.product_id = p.id AND t.octo_id = r.octo_id AND t.active`,
  unit: `
UPDATE units t SET active = false, removed_at = now(), updated_at = now()
FROM jsonb_to_recordset($2::jsonb) AS r(product_octo_id text, option_octo_id text, octo_id text),
  products p, product_options o
WHERE p.integration_id = $1::uuid AND p.octo_id = r.product_octo_id
  AND o.product_id = p.id AND o.octo_id = r.option_octo_id
  AND t.option_id = o.id AND t.octo_id = r.octo_id AND t.active`,
};

/** What the removal statements of each entity return for their events (`t`: the row, `r`: its key). */
const REMOVED_KEYS: Record<Entity, string> = {
  product: 't.octo_id AS product_octo_id, NULL::text AS option_octo_id, NULL::text AS unit_octo_id, t.content_hash',
  option: 'r.product_octo_id, t.octo_id AS option_octo_id, NULL::text AS unit_octo_id, t.content_hash',
  unit: 'r.product_octo_id, r.option_octo_id, t.octo_id AS unit_octo_id, t.content_hash',
};
