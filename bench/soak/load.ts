import { slotStart } from '@octo-sync/testkit';
import type { Cast, Tenant } from './cast';
import { flatBody, nestedBody, type Model, type SentChange } from './model';
import type { Rng } from './rng';
import type { Answer, Http } from './http';

/** What one operation does; `run` performs its requests (the random choices are all made before). */
export interface Operation {
  kind: string;
  tenant: number;
  run(): Promise<void>;
}

/** Marks the changes of a notify answer 2xx as acknowledged (per item for a batch). */
function acknowledge(answer: Answer, changes: readonly SentChange[]): void {
  if (answer.status < 200 || answer.status > 299) return;
  const data = (answer.body as { data?: { results?: Array<Record<string, unknown>>; full_sync_queued?: boolean } } | undefined)?.data;
  changes.forEach((change, i) => {
    const result = data?.results?.[i] ?? data;
    if (result?.full_sync_queued !== true) change.acked = true;
  });
}

function notifyOp(rng: Rng, model: Model, http: Http, tenant: Tenant, op: number): Operation {
  const [slot, source] = rng.pick(model.slots());
  const anchor = model.anchor(tenant.index);
  const form = rng.weighted({ flat: 3, nested: 2, batch: 2, late: 1, duplicate: 1, unknown: 1 });
  const first = model.newChange(rng, op, tenant.index, slot, source);
  const second = form === 'batch' || form === 'late' ? model.newChange(rng, op, tenant.index, slot, source) : undefined;
  const async = rng.next() < 0.3 ? { prefer: 'respond-async' } : undefined;
  const signed = rng.next() < 0.2;
  const post = (body: unknown): Promise<Answer> => (signed ? http.signed(tenant, 'availability/notify', JSON.stringify(body)) : http.webhook(tenant, 'availability/notify', JSON.stringify(body), async));
  const run = async (): Promise<void> => {
    if (form === 'nested') acknowledge(await post(nestedBody(first, anchor)), [first]);
    else if (form === 'batch' && second) acknowledge(await post({ updates: [flatBody(first, anchor), flatBody(second, anchor)] }), [first, second]);
    else if (form === 'late' && second) {
      acknowledge(await post(flatBody(second, anchor)), [second]);
      acknowledge(await post(flatBody(first, anchor)), [first]);
    } else if (form === 'duplicate') {
      const [a, b] = await Promise.all([post(flatBody(first, anchor)), post(flatBody(first, anchor))]);
      acknowledge(a, [first]);
      acknowledge(b, [first]);
    } else if (form === 'unknown') {
      acknowledge(await post(flatBody(first, anchor)), [first]);
      await post({ ...flatBody(first, { productId: `ghost-${op}`, optionId: 'DEFAULT' }), availabilityId: `ghost-${op}` });
    } else acknowledge(await post(flatBody(first, anchor)), [first]);
  };
  return { kind: `notify.${form}`, tenant: tenant.index, run };
}

function triggerOp(rng: Rng, http: Http, tenant: Tenant): Operation {
  const form = rng.weighted({ plain: 3, async: 2, concurrent: 2, signed: 2, replay: 1 });
  const run = async (): Promise<void> => {
    if (form === 'plain') await http.webhook(tenant, 'sync/trigger', '');
    else if (form === 'async') await http.webhook(tenant, 'sync/trigger', '', { prefer: 'respond-async' });
    else if (form === 'concurrent') await Promise.all([1, 2, 3].map(() => http.webhook(tenant, 'sync/trigger', '', { prefer: 'respond-async' })));
    else if (form === 'signed') await http.signed(tenant, 'sync/trigger', '{}');
    else {
      const id = `msg_replay_${tenant.index}_${rng.int(1_000_000)}`;
      await http.signed(tenant, 'sync/trigger', '{}', id);
      await Promise.all([http.signed(tenant, 'sync/trigger', '{}', id), http.signed(tenant, 'sync/trigger', '{}', id)]);
    }
  };
  return { kind: `trigger.${form}`, tenant: tenant.index, run };
}

function adminOp(rng: Rng, http: Http, tenant: Tenant, revoked: Set<number>, exempt: Set<number>): Operation {
  const form = revoked.has(tenant.index) ? 'approve' : rng.weighted({ force: 3, revoke: 1 });
  if (form === 'revoke') {
    revoked.add(tenant.index);
    // Jobs queued before the revoke fail for good when they start (eligibility is checked again).
    exempt.add(tenant.index);
  }
  if (form === 'approve') revoked.delete(tenant.index);
  const run = async (): Promise<void> => {
    if (form === 'force') await http.adminCall(tenant, 'sync?force=true', { prefer: 'respond-async' });
    else await http.adminCall(tenant, form);
  };
  return { kind: `admin.${form}`, tenant: tenant.index, run };
}

/** Inputs a hostile or broken client sends: each must be refused without harm to anyone. */
function hostileOp(rng: Rng, http: Http, tenant: Tenant): Operation {
  const form = rng.weighted({ badJson: 1, wrongSecret: 1, hugeId: 1, oversizedBatch: 1, badSignature: 1, nestedDeep: 1 });
  const bodies: Record<string, string> = {
    badJson: '{"productId": ',
    hugeId: JSON.stringify({ productId: 'p'.repeat(100_000), optionId: 'o', availabilityId: 'a', localDateTimeStart: slotStart(30, '10:00', '+02:00'), status: 'AVAILABLE', vacancies: 1, capacity: 1 }),
    oversizedBatch: JSON.stringify({ updates: Array.from({ length: 501 }, () => ({ productId: 'p' })) }),
    nestedDeep: `${'['.repeat(5000)}${']'.repeat(5000)}`,
  };
  const run = async (): Promise<void> => {
    if (form === 'wrongSecret') await http.webhook({ ...tenant, secret: 'f'.repeat(64) }, 'sync/trigger', '');
    else if (form === 'badSignature') await http.webhook(tenant, 'sync/trigger', '{}', { 'webhook-id': 'x', 'webhook-timestamp': '1', 'webhook-signature': 'v1,AAAA' });
    else await http.webhook(tenant, 'availability/notify', bodies[form]!);
  };
  return { kind: `hostile.${form}`, tenant: tenant.index, run };
}

/** The next operation of the seeded stream (the catalog change is made here, in stream order). */
export function nextOperation(rng: Rng, op: number, cast: Cast, model: Model, http: Http, tenants: { revoked: Set<number>; exempt: Set<number> }): Operation {
  const tenant = rng.pick(cast.tenants);
  const kind = rng.weighted({ catalog: 3, trigger: 3, notify: 8, admin: 1, hostile: 1 });
  if (kind === 'catalog') {
    const change = model.mutateCatalog(rng, tenant, op);
    return { kind: `catalog.${change}`, tenant: tenant.index, run: () => Promise.resolve() };
  }
  if (kind === 'trigger') return triggerOp(rng, http, tenant);
  if (kind === 'notify') return notifyOp(rng, model, http, tenant, op);
  if (kind === 'admin') return adminOp(rng, http, tenant, tenants.revoked, tenants.exempt);
  return hostileOp(rng, http, tenant);
}
