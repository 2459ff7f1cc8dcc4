import type { Prisma, RunKind, SyncTrigger } from '../generated/prisma/client';

/** The most products one targeted run refreshes; a queued one that would grow past it becomes a full sync. */
export const TARGETED_PRODUCTS_MAX = 100;

/**
 * Whether a request for `productIds` (empty: the whole catalog) can join run `found`, widening
 * its scope when it must. A full run covers any request; a queued targeted run takes the union
 * of both scopes (a full request, or a union past {@link TARGETED_PRODUCTS_MAX}, makes it full).
 * The widening updates the run only while it is still queued: the claim takes the scope from the
 * row it updates, so a widening that commits first is seen, and one that comes too late writes
 * nothing and the request creates a run of its own.
 */
async function joinScope(tx: Pick<Prisma.TransactionClient, 'syncRun'>, found: { id: string; status: string; productIds: string[] }, productIds: readonly string[]): Promise<boolean> {
  if (found.productIds.length === 0) return true;
  // A running targeted run is found only for a targeted request: it covers it when it names every product.
  if (found.status !== 'queued') return productIds.every((id) => found.productIds.includes(id));
  const union = productIds.length === 0 ? [] : [...new Set([...found.productIds, ...productIds])];
  const scope = union.length > TARGETED_PRODUCTS_MAX ? [] : union;
  const widened = await tx.syncRun.updateMany({ where: { id: found.id, status: 'queued' }, data: { productIds: scope } });
  return widened.count === 1;
}

/**
 * The run a request joins, its scope widened if need be (see {@link joinScope}); null when it must create one. Call under the request lock.
 * `pullScope`: the key of a pull narrowed by a refresh. A narrowed pull's job keeps its own scope,
 * so a request joins one only when it asks for exactly that scope: a whole pull (the schedule's)
 * joins only a whole one, and a narrowed request a whole one or one of its own scope (joining
 * another scope would leave what it asked for unpulled).
 */
export async function joinableRun(
  tx: Pick<Prisma.TransactionClient, 'syncRun'>,
  request: { integrationId: string; kind: RunKind; joinRunning: boolean; productIds: readonly string[]; pullScope: string | null },
): Promise<{ id: string; force: boolean; attempts: number; trigger: SyncTrigger } | null> {
  const { integrationId, kind, productIds, pullScope } = request;
  // A running targeted run does not cover a full request: only a queued one can be widened.
  const running = request.joinRunning ? [{ status: 'running' as const, ...(productIds.length === 0 ? { productIds: { isEmpty: true } } : {}) }] : [];
  const scopes = pullScope === null ? [{ pullScope: null }] : [{ pullScope: null }, { pullScope }];
  const found = await tx.syncRun.findFirst({
    where: { integrationId, kind, AND: [{ OR: scopes }, { OR: [{ status: 'queued' }, ...running] }] },
    orderBy: { queuedAt: 'asc' },
    select: { id: true, force: true, attempts: true, trigger: true, status: true, productIds: true },
  });
  return found !== null && (await joinScope(tx, found, productIds)) ? found : null;
}
