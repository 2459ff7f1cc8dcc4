import { randomUUID } from 'node:crypto';
import type { ClaimResult, Db } from '@octo-sync/db';

/** A fresh integration of a new partner, pointing at an address no test calls; returns its id. */
export async function createTestIntegration(db: Db): Promise<string> {
  const { integration } = await db.integrations.create({
    partnerId: `partner-${randomUUID()}`,
    baseUrl: 'https://octo.example.com',
    authType: 'bearer',
    authKey: 'key-0123456789',
    handlesTicketDelivery: false,
  });
  return integration.id;
}

/** A webhook-triggered catalog run of a fresh integration, claimed (fence taken) as a worker would. */
export async function claimedTestRun(db: Db): Promise<Extract<ClaimResult, { kind: 'claimed' }>> {
  const { runId } = await db.runs.requestRun(await createTestIntegration(db), 'webhook');
  const claim = await db.runs.claim(runId, 60_000);
  if (claim.kind !== 'claimed') throw new Error(`expected a claim, got ${claim.kind}`);
  return claim;
}
