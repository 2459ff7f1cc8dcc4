import type { PrismaClient } from '../client';
import type { Prisma } from '../generated/prisma/client';
import { appendChanges, prismaSql } from '../feed/change-outbox';
import { isLockNotGranted } from '../sql-errors';
import { isUuid } from '../uuid';
import { recordEvents } from '../integrations/integration-events.store';
import { moveIdentity, takeKeys, type IdentitySql, type Remap } from './key-transfer';

/** A remap candidate as an admin sees it: a product that left beside others that appeared. */
export interface StoredRemapCandidate {
  from: string;
  reference: string | null;
  to: string[];
  reason: string;
  run_id: string | null;
  created_at: Date;
}

/** What linking an integration to the one it replaces did, or why it did not. */
export type LinkOutcome =
  | { kind: 'linked'; products: number }
  | { kind: 'not_found' | 'previous_not_found' | 'same' | 'other_partner' | 'already_linked' | 'previous_taken' | 'sync_running' | 'busy' };

/** What a manual remap did, or why it did not. */
export type RemapOutcome = { kind: 'remapped'; remap: Remap } | { kind: 'not_found' | 'product_not_found' | 'target_not_found' | 'same' | 'source_active' | 'already_remapped' | 'target_taken' | 'busy' };

/**
 * How long a link's or a remap's statements wait for a lock (the integrations' rows, an option a
 * pull is writing) before it gives up as `busy`. Two such waits stay within Prisma's 5 s
 * transaction timeout, and meanwhile it holds the integration's row lock, which pull claims and
 * catalog runs wait for.
 */
const IDENTITY_LOCK_TIMEOUT_MS = 2_000;

// Catalog runs hold the integration's row FOR NO KEY UPDATE for their whole transaction (run-fence.ts):
// taking the same lock first makes an admin's identity change wait for a run in progress, and a run wait for it.
const LOCK_LIVE = `SELECT partner_id, previous_integration_id::text AS previous,
  EXISTS (SELECT 1 FROM sync_runs r WHERE r.integration_id = $1::uuid AND r.kind = 'catalog' AND r.status = 'running') AS running
  FROM integrations WHERE id = $1::uuid AND deleted_at IS NULL FOR NO KEY UPDATE`;
// The replaced integration is usually deleted already (a partner has one live integration at a time).
const LOCK_PREVIOUS = `SELECT partner_id, EXISTS (SELECT 1 FROM integrations n WHERE n.previous_integration_id = i.id) AS taken
  FROM integrations i WHERE i.id = $1::uuid FOR NO KEY UPDATE`;

// Candidates whose product is still gone: a product that came back or was remapped since is no question any more.
// A `to` that holds a key it took is left out: a remap into it is refused (target_taken) until it hands that key on.
const LIST_CANDIDATES = `SELECT c.from_octo_id AS "from", c.reference, c.reason, c.run_id::text AS run_id, c.created_at,
  ARRAY(SELECT u.t FROM unnest(c.to_octo_ids) WITH ORDINALITY u(t, n) WHERE NOT EXISTS (SELECT 1 FROM products q
    WHERE q.integration_id = c.integration_id AND q.octo_id = u.t AND q.key_inherited_at IS NOT NULL) ORDER BY u.n) AS "to"
FROM remap_candidates c JOIN products p ON p.integration_id = c.integration_id AND p.octo_id = c.from_octo_id
WHERE c.integration_id = $1::uuid AND NOT p.active ORDER BY c.from_octo_id`;

/** An admin's say over identity: linking a re-created integration, remap candidates and manual remaps. */
export class IdentityStore {
  /** `changeFeed`: whether a remap appends its `product.remapped` event to the change feed. */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly changeFeed: boolean,
  ) {}

  /**
   * Links live integration `id` to `previous`, the one it replaces (same partner, once): its
   * products, options and units take the keys of `previous`'s of the same OCTO ids, now and in
   * its later syncs (a catalog run gives the products it creates the linked keys). Audited as
   * `integration_linked`. `busy` when a lock it needs (a catalog run's, another identity change's)
   * was not granted in time: nothing changed, retry.
   */
  link(id: string, previous: string, actor: string): Promise<LinkOutcome> {
    if (!isUuid(id)) return Promise.resolve({ kind: 'not_found' });
    if (!isUuid(previous)) return Promise.resolve({ kind: 'previous_not_found' });
    if (previous.toLowerCase() === id.toLowerCase()) return Promise.resolve({ kind: 'same' });
    return this.identityTransaction<LinkOutcome>(async (tx, sql) => {
      const target = (await sql.query<{ partner_id: string; previous: string | null; running: boolean }>(LOCK_LIVE, [id])).rows[0];
      if (target === undefined) return { kind: 'not_found' };
      const old = (await sql.query<{ partner_id: string; taken: boolean }>(LOCK_PREVIOUS, [previous])).rows[0];
      if (old === undefined) return { kind: 'previous_not_found' };
      if (old.partner_id !== target.partner_id) return { kind: 'other_partner' };
      if (target.previous !== null) return { kind: 'already_linked' };
      if (old.taken) return { kind: 'previous_taken' };
      // A run claimed before the link read its integration without it: the products it creates would miss their keys.
      if (target.running) return { kind: 'sync_running' };
      await sql.query(`UPDATE integrations SET previous_integration_id = $2::uuid WHERE id = $1::uuid`, [id, previous]);
      const products = await takeKeys(sql, previous, id);
      await recordEvents(tx, id, [{ type: 'integration_linked', actor, details: { previous, products } }]);
      return { kind: 'linked', products };
    });
  }

  /** The products of live integration `id` that left in a sync beside others that appeared, not matched 1:1; undefined for an unknown integration. */
  async candidates(id: string): Promise<StoredRemapCandidate[] | undefined> {
    if (!isUuid(id)) return undefined;
    const live = await this.prisma.integration.findFirst({ where: { id, deletedAt: null }, select: { id: true } });
    if (live === null) return undefined;
    return this.prisma.$queryRawUnsafe<StoredRemapCandidate[]>(LIST_CANDIDATES, id);
  }

  /**
   * An admin's remap: product `to` (active) takes the identity of product `from` (the key, its
   * options' and units' keys, its slots), as a sync's 1:1 re-key would; audited as
   * `product_remapped`, appended to the change feed as `product.remapped`, the candidate cleared.
   * Refused for a `to` that holds a key it took (`target_taken`), checked under the integration's
   * row lock like the rest, so no run or other remap gives it one in between. `busy` when a lock
   * it needs (a catalog run, a pull writing one of the options) was not granted in time: nothing
   * moved, retry.
   */
  remap(id: string, from: string, to: string, actor: string): Promise<RemapOutcome> {
    if (!isUuid(id)) return Promise.resolve({ kind: 'not_found' });
    if (from === to) return Promise.resolve({ kind: 'same' });
    return this.identityTransaction<RemapOutcome>(async (tx, sql) => {
      if ((await sql.query(LOCK_LIVE, [id])).rows.length === 0) return { kind: 'not_found' };
      const { rows } = await sql.query<{ octo_id: string; active: boolean; handed_on: boolean; inherited: boolean }>(
        `SELECT octo_id, active, COALESCE(remapped_at >= removed_at, false) AS handed_on, key_inherited_at IS NOT NULL AS inherited
         FROM products WHERE integration_id = $1::uuid AND octo_id = ANY($2::text[])`,
        [id, [from, to]],
      );
      const source = rows.find((r) => r.octo_id === from);
      const target = rows.find((r) => r.octo_id === to);
      if (source === undefined) return { kind: 'product_not_found' };
      if (target === undefined || !target.active) return { kind: 'target_not_found' };
      // Both live: the supplier still serves `from`, so its key would go on naming a product it sells.
      if (source.active) return { kind: 'source_active' };
      // Its key went on with a remap since it left: what it holds now is a fresh key, no identity.
      if (source.handed_on) return { kind: 'already_remapped' };
      // It holds a key it took (a remap, a sync's re-key, a link): taking another would drop that identity.
      if (target.inherited) return { kind: 'target_taken' };
      const [remap] = await moveIdentity(sql, id, [{ from, to }]);
      if (remap === undefined) return { kind: 'product_not_found' };
      await sql.query(`DELETE FROM remap_candidates WHERE integration_id = $1::uuid AND from_octo_id = $2`, [id, from]);
      await recordEvents(tx, id, [{ type: 'product_remapped', actor, details: { from, to, key: remap.key, by: 'admin' } }]);
      if (this.changeFeed) {
        await appendChanges(prismaSql(tx), [{
          integration_id: id, type: 'product.remapped', product_octo_id: to, option_octo_id: null, unit_octo_id: null,
          availability_id: null, content_hash: remap.contentHash, key: remap.key, previous_octo_id: from,
        }]);
      }
      return { kind: 'remapped', remap };
    });
  }

  /** `fn` in a transaction whose lock waits end at IDENTITY_LOCK_TIMEOUT_MS: then nothing changed, and the outcome is `busy`. */
  private identityTransaction<T>(fn: (tx: Prisma.TransactionClient, sql: IdentitySql) => Promise<T>): Promise<T | { kind: 'busy' }> {
    return this.prisma
      .$transaction(async (tx) => {
        const sql = identitySql(tx);
        await sql.query(`SELECT set_config('lock_timeout', $1, true)`, [String(IDENTITY_LOCK_TIMEOUT_MS)]);
        return fn(tx, sql);
      })
      .catch((err: unknown) => {
        if (isLockNotGranted(err)) return { kind: 'busy' } as const;
        throw err;
      });
  }
}

function identitySql(tx: Prisma.TransactionClient): IdentitySql {
  return {
    async query<R>(text: string, values: readonly unknown[] = []) {
      return { rows: await tx.$queryRawUnsafe<R[]>(text, ...values) };
    },
  };
}
