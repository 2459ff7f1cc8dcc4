import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { availabilityApplyJob } from '@octo-sync/jobs';
import { signDelivery } from '@octo-sync/platform';
import { slotStart } from '@octo-sync/testkit';
import { BASE, createBody, useGateway } from './harness';

const { h, check, admin } = useGateway({ WEBHOOK_RATE_LIMIT: '10000', SYNC_TRIGGER_WAIT_MS: '30000' });

const trigger = (id: string) => `${BASE}/${id}/sync/trigger`;
const notify = (id: string) => `${BASE}/${id}/availability/notify`;
const INVALID = { success: 0, error: ['x-webhook-secret: missing or invalid'], message: 'Unauthorized', code: 401, reason: 'WEBHOOK_SECRET_INVALID' };

interface Created {
  _id: string;
  webhook_secret: string;
  webhook_signing_secret: string;
}

async function integration(partner: string, extra: Record<string, unknown> = {}): Promise<Created> {
  const res = await h.http().post(`${BASE}/admin/create`).set(admin()).send({ partner_id: partner, ...createBody(), isApproved: false, ...extra });
  expect(res.status).toBe(201);
  await h.db.integrations.setApproved(res.body.data._id as string, true);
  return res.body.data as Created;
}

/** Standard Webhooks headers for `body` signed with the hex `secret`. */
function signed(secret: string, body: string, options: { id?: string; timestampS?: number } = {}): Record<string, string> {
  const id = options.id ?? `msg_${randomUUID()}`;
  const ts = String(options.timestampS ?? Math.floor(Date.now() / 1000));
  return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': signDelivery(Buffer.from(secret, 'hex'), id, ts, Buffer.from(body)) };
}

const post = (path: string, headers: Record<string, string>, body = '') =>
  h.http().post(path).set({ 'content-type': 'application/json', prefer: 'respond-async', ...headers }).send(body);

describe('signed deliveries', () => {
  test('a valid signature is accepted; tampered body, wrong key and a missing header get the bad-secret 401', async () => {
    const it = await integration('p-sig-1');
    expect(it.webhook_signing_secret).toBe(`whsec_${Buffer.from(it.webhook_secret, 'hex').toString('base64')}`);
    const ok = await post(trigger(it._id), signed(it.webhook_secret, ''));
    expect(ok.status).toBe(202);
    check('post', `${BASE}/{id}/sync/trigger`, 202, ok.body);

    const body = '{"productId":"p1","optionId":"o1","availabilityId":"a1","status":"SOLD_OUT"}';
    const headers = signed(it.webhook_secret, body);
    const { 'webhook-timestamp': _ts, ...withoutTimestamp } = headers;
    const refused = [
      await post(notify(it._id), headers, body.replace('SOLD_OUT', 'AVAILABLE')),
      await post(notify(it._id), signed('f'.repeat(64), body), body),
      await post(notify(it._id), withoutTimestamp, body),
      await post(notify(it._id), { ...headers, 'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64') }, body),
      await post(notify(it._id), { 'x-webhook-secret': 'a'.repeat(64) }, body),
    ];
    for (const res of refused) expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: INVALID });
  });

  test('a stale or future timestamp: 401 WEBHOOK_TIMESTAMP_OUT_OF_RANGE', async () => {
    const it = await integration('p-sig-2');
    const nowS = Math.floor(Date.now() / 1000);
    for (const timestampS of [nowS - 301 - 5, nowS + 301 + 5]) {
      const res = await post(trigger(it._id), signed(it.webhook_secret, '', { timestampS }));
      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('WEBHOOK_TIMESTAMP_OUT_OF_RANGE');
      check('post', `${BASE}/{id}/sync/trigger`, 401, res.body);
    }
  });

  test('a multi-entry header with one valid entry, and a delivery signed by the standardwebhooks package, are accepted', async () => {
    const it = await integration('p-sig-3');
    const body = '{}';
    const headers = signed(it.webhook_secret, body);
    const other = signDelivery(Buffer.alloc(32, 1), headers['webhook-id']!, headers['webhook-timestamp']!, Buffer.from(body));
    expect((await post(trigger(it._id), { ...headers, 'webhook-signature': `${other} ${headers['webhook-signature']}` }, body)).status).toBe(202);

    const now = new Date();
    const id = `msg_${randomUUID()}`;
    const signature = new Webhook(it.webhook_signing_secret).sign(id, now, body);
    const res = await post(trigger(it._id), { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature }, body);
    expect(res.status).toBe(202);
  });
});

describe('replay safety', () => {
  test('the same trigger 20 times, then 20 at once: one run each, identical answers, repeats marked Webhook-Replayed', async () => {
    const it = await integration('p-replay-1');
    const headers = signed(it.webhook_secret, '');
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await post(trigger(it._id), headers));
    expect(new Set(answers.map((a) => `${a.status} ${a.text} ${a.headers.location}`)).size).toBe(1);
    expect(answers[0]!.headers['webhook-replayed']).toBeUndefined();
    for (const a of answers.slice(1)) expect(a.headers['webhook-replayed']).toBe('true');
    expect(await h.db.prisma.syncRun.count({ where: { integrationId: it._id } })).toBe(1);

    await h.db.prisma.syncRun.updateMany({ where: { integrationId: it._id }, data: { status: 'succeeded', finishedAt: new Date() } });
    const concurrent = signed(it.webhook_secret, '');
    const together = await Promise.all(Array.from({ length: 20 }, () => post(trigger(it._id), concurrent)));
    expect(new Set(together.map((a) => `${a.status} ${a.text}`)).size).toBe(1);
    expect(together.filter((a) => a.headers['webhook-replayed'] === 'true')).toHaveLength(19);
    expect(await h.db.prisma.syncRun.count({ where: { integrationId: it._id } })).toBe(2);
  });

  test('a notify delivered 20 times at once queues its change once; a refused delivery is not remembered', async () => {
    const it = await integration('p-replay-2');
    const body = JSON.stringify({ productId: 'p1', optionId: 'o1', availabilityId: 'a1', localDateTimeStart: slotStart(30, '09:00', '+02:00'), status: 'SOLD_OUT' });
    const headers = signed(it.webhook_secret, body);
    const queue = h.producer.queue(availabilityApplyJob.queue);
    const jobsOf = async () => (await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active'])).filter((j) => (j.data as { integrationId: string }).integrationId === it._id);
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(notify(it._id), headers, body)));
    expect(new Set(answers.map((a) => `${a.status} ${a.text}`)).size).toBe(1);
    expect(answers[0]!.status).toBe(202);
    const jobs = await jobsOf();
    expect(jobs.flatMap((j) => (j.data as { changes: unknown[] }).changes)).toHaveLength(1);

    const invalid = JSON.stringify({ productId: 'p1' });
    const invalidHeaders = signed(it.webhook_secret, invalid);
    expect((await post(notify(it._id), invalidHeaders, invalid)).status).toBe(400);
    const again = await post(notify(it._id), invalidHeaders, invalid);
    expect(again.status).toBe(400);
    expect(again.headers['webhook-replayed']).toBeUndefined();
  });
});
