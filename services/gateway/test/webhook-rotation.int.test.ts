import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { hashWebhookSecret, migrate } from '@octo-sync/db';
import { SecretBox, signDelivery } from '@octo-sync/platform';
import { databaseUrl, dropDatabase, migrateBefore, uniqueDatabaseName, waitFor } from '@octo-sync/testkit';
import { ADMIN_SUB, BASE, createBody, SECRETS_KEY, startGateway, useGateway, type GatewayHarness } from './harness';

const { h, check, partner, admin } = useGateway({ WEBHOOK_RATE_LIMIT: '10000' });

const trigger = (id: string) => `${BASE}/${id}/sync/trigger`;

function signed(secret: string): Record<string, string> {
  const id = `msg_${randomUUID()}`;
  const ts = String(Math.floor(Date.now() / 1000));
  return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': signDelivery(Buffer.from(secret, 'hex'), id, ts, Buffer.alloc(0)) };
}

/** Status of a respond-async trigger with the header secret, and with a signature. */
async function passes(h: GatewayHarness, id: string, secret: string): Promise<{ header: number; signature: number }> {
  const header = await h.http().post(trigger(id)).set({ prefer: 'respond-async', 'x-webhook-secret': secret });
  const signature = await h.http().post(trigger(id)).set({ prefer: 'respond-async', ...signed(secret) });
  return { header: header.status, signature: signature.status };
}

async function created(sub: string): Promise<{ _id: string; webhook_secret: string }> {
  const res = await h.http().post(BASE).set(partner(sub)).send(createBody());
  expect(res.status).toBe(201);
  await h.db.integrations.setApproved(res.body.data._id as string, true);
  return res.body.data as { _id: string; webhook_secret: string };
}

const rotate = (sub: string, body: Record<string, unknown> = {}, key?: string) =>
  h.http().post(`${BASE}/me/webhook-secret/rotate`).set({ ...partner(sub), ...(key ? { 'idempotency-key': key } : {}) }).send(body);

describe('secret rotation', () => {
  test('old and new both pass during the grace, the old one not after it; a second rotation cuts the first off at once', async () => {
    const it = await created('p-rot-1');
    const first = await rotate('p-rot-1', { grace_seconds: 3600 });
    expect(first.status).toBe(200);
    check('post', `${BASE}/me/webhook-secret/rotate`, 200, first.body);
    const { webhook_secret: next } = first.body.data as { webhook_secret: string };
    expect(await passes(h, it._id, it.webhook_secret)).toEqual({ header: 202, signature: 202 });
    expect(await passes(h, it._id, next)).toEqual({ header: 202, signature: 202 });
    // The grace ends: its end moved into the past rather than waited for (no wall-clock window),
    // seen by a gateway that caches nothing (this one may hold the credentials for seconds).
    await h.db.prisma.$executeRaw`UPDATE integrations SET previous_webhook_secret_expires_at = now() - interval '1 second' WHERE id = ${it._id}::uuid`;
    const uncached = await startGateway({ WEBHOOK_AUTH_CACHE_MS: '0', WEBHOOK_RATE_LIMIT: '10000' }, h);
    try {
      expect(await passes(uncached, it._id, it.webhook_secret)).toEqual({ header: 401, signature: 401 });
      expect(await passes(uncached, it._id, next)).toEqual({ header: 202, signature: 202 });
    } finally {
      await uncached.close();
    }

    const second = await h.http().post(`${BASE}/admin/${it._id}/webhook-secret/rotate`).set(admin()).send({ grace_seconds: 3600 });
    const third = await h.http().post(`${BASE}/admin/${it._id}/webhook-secret/rotate`).set(admin()).send({});
    expect([second.status, third.status]).toEqual([200, 200]);
    expect(await passes(h, it._id, next)).toEqual({ header: 401, signature: 401 });
    expect(await passes(h, it._id, second.body.data.webhook_secret as string)).toEqual({ header: 202, signature: 202 });
  });

  test('the same Idempotency-Key answers the same rotation; the secret in use is not cut off', async () => {
    const it = await created('p-rot-2');
    const a = await rotate('p-rot-2', { grace_seconds: 600 }, 'rotation-1');
    const b = await rotate('p-rot-2', { grace_seconds: 600 }, 'rotation-1');
    expect(b.body).toEqual(a.body);
    expect(await passes(h, it._id, it.webhook_secret)).toEqual({ header: 202, signature: 202 });
    const c = await rotate('p-rot-2', {}, 'rotation-2');
    expect(c.body.data.webhook_secret).not.toBe(a.body.data.webhook_secret);
  });

  test('signature mode refuses the bare header; the audit trail lists every change, with actors, and no secret', async () => {
    const it = await created('p-rot-3');
    const patched = await h.http().patch(`${BASE}/me`).set(partner('p-rot-3')).send({ webhook_auth: 'signature', auth_key: 'new-key-123', base_url: 'https://other.example.com' });
    expect(patched.body.data).toMatchObject({ webhook_auth: 'signature', signing_available: true });
    expect(await passes(h, it._id, it.webhook_secret)).toEqual({ header: 401, signature: 409 });
    await rotate('p-rot-3', { grace_seconds: 0 });
    await h.http().patch(`${BASE}/admin/${it._id}`).set(admin()).send({ isActive: false });
    const events = await h.http().get(`${BASE}/${it._id}/events?pageSize=3`).set(partner('p-rot-3'));
    expect(events.status).toBe(200);
    check('get', `${BASE}/{id}/events`, 200, events.body);
    expect(events.body.pagination).toEqual({ page: 1, pageSize: 3, totalCount: 7, next: expect.any(String) });
    const all = await h.http().get(`${BASE}/${it._id}/events?pageSize=100`).set(admin());
    expect(all.body.data.map((e: { type: string; actor: string }) => `${e.type}:${e.actor}`).reverse()).toEqual([
      'created:p-rot-3',
      'approved:system',
      'base_url_changed:p-rot-3',
      'auth_key_changed:p-rot-3',
      'webhook_auth_changed:p-rot-3',
      'webhook_secret_rotated:p-rot-3',
      `deactivated:${ADMIN_SUB}`,
    ]);
    expect(all.text).not.toContain(it.webhook_secret);
    expect(all.text).not.toContain('new-key-123');
    expect((await h.http().get(`${BASE}/${it._id}/events`).set(partner('someone-else'))).status).toBe(404);
  });
});

describe('rotation across gateway replicas', () => {
  test('a secret rotated on one gateway passes on another at once, however long that one caches', async () => {
    const other = await startGateway({ WEBHOOK_AUTH_CACHE_MS: '300000', WEBHOOK_RATE_LIMIT: '10000' }, h);
    /** How many changes of `id` a gateway has heard of from the others. */
    const heard = (g: GatewayHarness, id: string) => g.logLines().filter((line) => line.msg === 'webhook credentials changed on another gateway' && line.integrationId === id).length;
    try {
      await waitFor('the other gateway to subscribe', () => other.logLines().some((line) => line.msg === 'subscribed to webhook credential changes'));
      const it = await created('p-rot-replicas');
      // Now cached on the other gateway, for 5 minutes.
      expect(await passes(other, it._id, it.webhook_secret)).toEqual({ header: 202, signature: 202 });
      const before = heard(other, it._id);
      const rotated = await rotate('p-rot-replicas', { grace_seconds: 0 });
      expect(rotated.status).toBe(200);
      await waitFor('the other gateway to hear of the rotation', () => heard(other, it._id) > before);
      expect(await passes(other, it._id, rotated.body.data.webhook_secret as string)).toEqual({ header: 202, signature: 202 });
      expect(await passes(other, it._id, it.webhook_secret)).toEqual({ header: 401, signature: 401 });
      // And the other way round: a deactivation there stops webhooks here.
      expect((await passes(h, it._id, rotated.body.data.webhook_secret as string)).header).toBe(202);
      const seen = heard(h, it._id);
      await other.http().patch(`${BASE}/admin/${it._id}`).set({ Authorization: `Bearer ${other.token('admin', 'ops-2')}` }).send({ isActive: false });
      await waitFor('this gateway to hear of the deactivation', () => heard(h, it._id) > seen);
      expect((await passes(h, it._id, rotated.body.data.webhook_secret as string)).header).toBe(401);
    } finally {
      await other.close();
    }
  });

  test('after its subscription drops and comes back, a gateway forgets what it cached (changes may have been missed)', async () => {
    const other = await startGateway({ WEBHOOK_AUTH_CACHE_MS: '300000', WEBHOOK_RATE_LIMIT: '10000' }, h);
    const subscribed = () => other.logLines().filter((line) => line.msg === 'subscribed to webhook credential changes').length;
    try {
      await waitFor('the other gateway to subscribe', () => subscribed() === 1);
      const it = await created('p-rot-resync');
      expect(await passes(other, it._id, it.webhook_secret)).toEqual({ header: 202, signature: 202 });
      // A change the other gateway cannot hear of: made while its subscriber is away.
      other.subscriber.disconnect();
      await waitFor('the subscriber to be gone', () => other.subscriber.status === 'end');
      const rotated = await rotate('p-rot-resync', { grace_seconds: 0 });
      await other.subscriber.connect();
      await waitFor('the other gateway to subscribe again', () => subscribed() === 2);
      expect(await passes(other, it._id, rotated.body.data.webhook_secret as string)).toEqual({ header: 202, signature: 202 });
    } finally {
      await other.close();
    }
  });
});

describe('upgrade: integrations created before signatures', () => {
  const name = uniqueDatabaseName();
  const url = databaseUrl(name);
  afterAll(async () => {
    await dropDatabase(name);
  });

  test('show signing_available false, refuse signatures and signature mode until their first rotation', async () => {
    await migrateBefore(url, '20261201000400');
    const secret = 'e'.repeat(64);
    const client = new Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO integrations (partner_id, live_partner_id, base_url, auth_type, auth_key_encrypted, handles_ticket_delivery, is_approved, webhook_secret_hash)
       VALUES ('p-old', 'p-old', 'https://octo.example.com', 'bearer', $1, false, true, $2) RETURNING id`,
      [new SecretBox(SECRETS_KEY).seal('k'), hashWebhookSecret(secret).toString('hex')],
    );
    await client.end();
    expect((await migrate({ databaseUrl: url })).applied).toContain('20261201000400_webhook_signing');

    const old = await startGateway({ DATABASE_URL: url, WEBHOOK_RATE_LIMIT: '10000' }, h);
    try {
      const id = rows[0]!.id;
      const me = () => old.http().get(`${BASE}/me`).set({ Authorization: `Bearer ${old.token('partner', 'p-old')}` });
      expect((await me()).body.data).toMatchObject({ webhook_auth: 'secret_or_signature', signing_available: false });
      expect(await passes(old, id, secret)).toEqual({ header: 202, signature: 401 });
      const refused = await old.http().patch(`${BASE}/me`).set({ Authorization: `Bearer ${old.token('partner', 'p-old')}` }).send({ webhook_auth: 'signature' });
      expect([refused.status, refused.body.reason]).toEqual([409, 'SIGNING_UNAVAILABLE']);
      const rotated = await old.http().post(`${BASE}/me/webhook-secret/rotate`).set({ Authorization: `Bearer ${old.token('partner', 'p-old')}` }).send({});
      expect((await me()).body.data.signing_available).toBe(true);
      expect(await passes(old, id, rotated.body.data.webhook_secret as string)).toEqual({ header: 202, signature: 202 });
      // The old secret had no key: during the grace it still passes as a header, never as a signature.
      expect(await passes(old, id, secret)).toEqual({ header: 202, signature: 401 });
    } finally {
      await old.close();
    }
  });
});
