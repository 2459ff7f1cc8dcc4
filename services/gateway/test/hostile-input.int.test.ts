import { gzipSync } from 'node:zlib';
import jwt from 'jsonwebtoken';
import { availabilityApplyJob } from '@octo-sync/jobs';
import { slotStart } from '@octo-sync/testkit';
import { BASE, createBody, JWT_SECRET, startGateway, useGateway } from './harness';

/** Input that reached a 500, or that one tenant could use to hurt another, before the hardening. */
const { h, admin } = useGateway();

async function integration(partner: string) {
  const res = await h.http().post(`${BASE}/admin/create`).set(admin()).send({ partner_id: partner, ...createBody() });
  expect(res.status).toBe(201);
  return res.body.data as { _id: string; webhook_secret: string };
}

function notify(target: { _id: string; webhook_secret: string }, body: unknown) {
  return h
    .http()
    .post(`${BASE}/${target._id}/availability/notify`)
    .set({ 'x-webhook-secret': target.webhook_secret, prefer: 'respond-async' })
    .send(body as object);
}

/** A slot start notify accepts (its bounds follow the clock). */
const START = slotStart(30, '09:00', '+02:00');

const flat = (over: Record<string, unknown> = {}) => ({
  productId: 'p1',
  optionId: 'o1',
  availabilityId: START,
  localDateTimeStart: START,
  status: 'AVAILABLE',
  ...over,
});

async function queuedChanges(): Promise<number> {
  const jobs = await h.producer.queue(availabilityApplyJob.queue).getJobs(['waiting', 'delayed', 'prioritized']);
  return jobs.reduce((sum, job) => sum + (job.data as { changes: unknown[] }).changes.length, 0);
}

describe('text Postgres cannot store is refused at the gateway', () => {
  let target: { _id: string; webhook_secret: string };
  beforeAll(async () => {
    target = await integration('p-hostile-text');
  });

  test.each([
    ['NUL in productId (flat)', flat({ productId: 'p\u0000' }), ['productId']],
    ['lone high surrogate in optionId (flat)', flat({ optionId: 'o\ud800' }), ['optionId']],
    ['lone low surrogate in availabilityId (flat)', flat({ availabilityId: '\udc00x' }), ['availabilityId']],
    ['NUL in a batch item', { updates: [flat(), flat({ productId: '\u0000' })] }, ['updates.1.productId']],
    ['NUL in the nested OCTO object, in a field we keep as sent', { productId: 'p1', optionId: 'o1', availability: { id: 'a1', localDateTimeStart: START, openingHours: [{ from: '\u0000' }] } }, ['availability.openingHours.0.from']],
    ['a field name with NUL', { productId: 'p1', optionId: 'o1', availability: { id: 'a1', 'x\u0000': 1 } }, ['availability: has a field name']],
    ['a lone surrogate in the nested OCTO object, kept as sent in raw', { productId: 'p1', optionId: 'o1', availability: { id: 'a1', localDateTimeStart: START, pricing: { note: 'x\ud800' } } }, ['availability.pricing.note']],
    ['a field name with a lone surrogate', { productId: 'p1', optionId: 'o1', availability: { id: 'a1', 'x\udc00': 1 } }, ['availability: has a field name']],
  ])('%s: 400 naming the field, nothing queued', async (_name, body, fields) => {
    const before = await queuedChanges();
    const res = await notify(target, body);
    expect(res.status).toBe(400);
    expect(res.body.reason).toBe('VALIDATION_FAILED');
    for (const field of fields) expect(res.body.error.some((line: string) => line.startsWith(field))).toBe(true);
    expect(await queuedChanges()).toBe(before);
  });

  test('a well-formed surrogate pair (an emoji) is text like any other', async () => {
    const res = await notify(target, flat({ availabilityId: 'slot-\ud83d\ude00', localDateTimeStart: START }));
    expect(res.status).toBe(202);
  });

  test('a body nested deeper than anything the API takes is a 400, not a stack overflow', async () => {
    const deep = `${'['.repeat(100_000)}"x"${']'.repeat(100_000)}`;
    const res = await h
      .http()
      .post(`${BASE}/${target._id}/availability/notify`)
      .set({ 'x-webhook-secret': target.webhook_secret, 'content-type': 'application/json' })
      .send(`{"productId":"p1","optionId":"o1","availability":{"id":"a1","extra":${deep}}}`);
    expect(res.status).toBe(400);
    expect(res.body.error.join('\n')).toMatch(/nests deeper than 32 levels/);
  });

  test('admin create with NUL in partner_id, and a NUL query parameter: 400', async () => {
    const created = await h.http().post(`${BASE}/admin/create`).set(admin()).send({ partner_id: 'p\u0000x', ...createBody() });
    expect(created.status).toBe(400);
    expect(created.body.error).toContain('partner_id: must not contain NUL characters or unpaired surrogates');
    const listed = await h.http().get(`${BASE}/admin?partner_id=%00`).set(admin());
    expect(listed.status).toBe(400);
    expect(listed.body.error).toContain('partner_id: must not contain NUL characters or unpaired surrogates');
  });

  test('a validly signed JWT whose sub holds NUL or a lone surrogate: 401', async () => {
    for (const sub of ['partner\u0000', 'partner\ud800']) {
      const token = jwt.sign({ role: 'partner' }, JWT_SECRET, { algorithm: 'HS256', subject: sub, expiresIn: 600 });
      const res = await h.http().get(`${BASE}/me`).set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('UNAUTHENTICATED');
    }
  });

  test('a JWT that lives longer than JWT_MAX_TTL_S is refused', async () => {
    const res = await h.http().get(`${BASE}/me`).set('Authorization', `Bearer ${h.token('partner', 'p-long', '30d')}`);
    expect(res.status).toBe(401);
    expect(res.body.error[0]).toMatch(/JWT_MAX_TTL_S/);
  });
});

describe('other inputs that reached a 500', () => {
  test.each(['gzip', 'deflate', 'br'])('Content-Encoding %s with data that is not: 400', async (encoding) => {
    const res = await h
      .http()
      .post(`${BASE}/admin/create`)
      .set({ ...admin(), 'content-type': 'application/json', 'content-encoding': encoding })
      .send('{"this": "is not compressed at all"}');
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual(['body: could not be decompressed (it does not match its Content-Encoding)']);
  });

  test('a valid gzip body still works', async () => {
    const res = await h
      .http()
      .post(`${BASE}/admin/create`)
      .set({ ...admin(), 'content-type': 'application/json', 'content-encoding': 'gzip' })
      // Sent as the bytes they are (superagent would serialise a Buffer as JSON).
      .serialize((bytes: unknown) => bytes as string)
      .send(gzipSync(JSON.stringify({ partner_id: 'p-gzip', ...createBody() })));
    expect(res.body.error).toBeUndefined();
    expect(res.status).toBe(201);
  });

  test('notify with updatedAt before 1970 and no sequence: 400', async () => {
    const target = await integration('p-hostile-1969');
    const res = await notify(target, flat({ updatedAt: '1969-12-31T23:59:59Z' }));
    expect(res.status).toBe(400);
    expect(res.body.error).toContain('updatedAt: must be 1970-01-01T00:00:00Z or later');
  });

  test('notify with a time Postgres cannot store, or that would freeze its slot: 400 naming each, nothing queued', async () => {
    // Year 0 and year 10000 (in UTC) were answered 202, then refused by Postgres and retried for
    // minutes; a year-9999 updatedAt froze its slot's order. Every one is now refused here.
    const target = await integration('p-hostile-times');
    const queued = await h.producer.queue(availabilityApplyJob.queue).count();
    const year = new Date().getUTCFullYear();
    const res = await notify(target, {
      updates: [
        flat({ availabilityId: 'y0', localDateTimeStart: '0000-06-01T10:00:00+00:00' }),
        flat({ availabilityId: 'y10000', localDateTimeStart: '9999-12-31T23:00:00-05:00' }),
        flat({ availabilityId: 'far', localDateTimeStart: `${year + 3}-01-01T10:00:00+00:00` }),
        flat({ availabilityId: 'past', localDateTimeStart: slotStart(-30) }),
        flat({ availabilityId: 'frozen', updatedAt: '9999-12-31T23:59:59Z' }),
        flat({ availabilityId: 'ahead', updatedAt: new Date(Date.now() + 25 * 3_600_000).toISOString() }),
        flat({ availabilityId: 'fine', updatedAt: new Date(Date.now() + 3_600_000).toISOString() }),
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual([
      ...[0, 1, 2, 3].map((i) => expect.stringMatching(new RegExp(`^updates\\.${i}\\.localDateTimeStart: must be from \\d{4}-\\d\\d-\\d\\d to \\d{4}-\\d\\d-\\d\\d \\(AVAILABILITY_RETENTION_DAYS before today to 2 years ahead\\)$`))),
      ...[4, 5].map((i) => expect.stringMatching(new RegExp(`^updates\\.${i}\\.updatedAt: must be no later than 24 h past the gateway’s clock`))),
    ]);
    expect(await h.producer.queue(availabilityApplyJob.queue).count()).toBe(queued);
    // The nested form names the field where it was sent.
    const nested = await notify(target, { productId: 'p1', optionId: 'o1', availability: { id: 'a1', localDateTimeStart: '0000-06-01T10:00:00+00:00' } });
    expect(nested.body.error).toEqual([expect.stringMatching(/^availability\.localDateTimeStart: must be from /)]);
  });

  test('notify takes AVAILABILITY_RETENTION_DAYS for its earliest start', async () => {
    const target = await integration('p-retention');
    const monthAgo = flat({ availabilityId: 'month-ago', localDateTimeStart: slotStart(-30) });
    expect((await notify(target, monthAgo)).status).toBe(400);
    const g = await startGateway({ AVAILABILITY_RETENTION_DAYS: '60', NOTIFY_RATE_LIMIT: '10' }, h);
    try {
      const res = await g.http().post(`${BASE}/${target._id}/availability/notify`).set({ 'x-webhook-secret': target.webhook_secret, prefer: 'respond-async' }).send(monthAgo);
      expect(res.status).toBe(202);
    } finally {
      await g.close();
    }
  });
});

describe('base_url at a private or loopback address', () => {
  test('refused at create and PATCH with the OCTO_ALLOWED_HOSTS entry that would allow it; allowed entries pass', async () => {
    const g = await startGateway({ ALLOW_INSECURE_OCTO_URLS: 'true', OCTO_ALLOWED_HOSTS: '127.0.0.1:3002' }, h);
    try {
      const partner = { Authorization: `Bearer ${g.token('partner', 'p-literal')}` };
      const refused = await g.http().post(BASE).set(partner).send(createBody({ base_url: 'http://localhost:3002' }));
      expect(refused.status).toBe(400);
      expect(refused.body.error).toEqual(['base_url: points at a loopback address; only public addresses can be reached, unless an operator adds localhost:3002 to OCTO_ALLOWED_HOSTS']);
      const created = await g.http().post(BASE).set(partner).send(createBody({ base_url: 'http://127.0.0.1:3002/' }));
      expect(created.status).toBe(201);
      const patched = await g.http().patch(`${BASE}/me`).set(partner).send({ base_url: 'http://192.168.1.20:8080' });
      expect(patched.status).toBe(400);
      expect(patched.body.error[0]).toMatch(/^base_url: points at a private address; .* 192\.168\.1\.20:8080 to OCTO_ALLOWED_HOSTS$/);
    } finally {
      await g.close();
    }
  });
});

describe('numbers a double would change are refused in any charset the JSON parser reads', () => {
  let target: { _id: string; webhook_secret: string };
  beforeAll(async () => {
    target = await integration('p-hostile-numbers');
  });
  const send = (bytes: Buffer, charset: string) =>
    h
      .http()
      .post(`${BASE}/${target._id}/availability/notify`)
      .set({ 'x-webhook-secret': target.webhook_secret, prefer: 'respond-async', 'content-type': `application/json; charset=${charset}` })
      // These exact bytes (superagent would serialise a Buffer as JSON).
      .serialize(() => bytes as unknown as string)
      .send({});
  const lossy = `{"productId": "p1", "optionId": "o1", "availability": {"id": "a1", "localDateTimeStart": "${START}", "pricing": {"retail": 1e400}}}`;

  test('UTF-8 and UTF-16 bodies: 400 naming the path, nothing queued', async () => {
    const before = await queuedChanges();
    for (const [bytes, charset] of [[Buffer.from(lossy, 'utf8'), 'utf-8'], [Buffer.from(lossy, 'utf16le'), 'utf-16le']] as const) {
      const res = await send(bytes, charset);
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual([expect.stringMatching(/^availability\.pricing\.retail: is a number that cannot be kept exactly/)]);
    }
    expect(await queuedChanges()).toBe(before);
  });

  test('a charset we cannot read as the parser does is a 415, not a 500', async () => {
    const res = await send(Buffer.from(lossy, 'utf8'), 'utf-32');
    expect(res.status).toBe(415);
    expect(res.body.reason).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});
