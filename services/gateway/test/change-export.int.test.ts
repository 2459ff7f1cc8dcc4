import { appendChanges } from '@octo-sync/db';
import { useGateway } from './harness';

type Line = { kind: string; position: string; productId?: string; optionId?: string; unitId?: string; integration_id?: string; content_hash?: string; lines?: number; key?: string | null };

/**
 * GET /api/v1/changes/export streams the live catalog (and slots) as NDJSON, every line tagged with
 * the feed position to resume from; what changes after the export is read after that position.
 * Lines carry stable keys: `key` the product's (as feed events do), `optionKey` and `unitKey` their own.
 */
describe('change feed: snapshot export', () => {
  const { h: g } = useGateway();
  let integrationId: string;
  const keys = { product: '', option: '', unit: '' };
  beforeAll(async () => {
    const integration = await g.db.prisma.integration.create({
      data: { partnerId: 'p-export', livePartnerId: 'p-export', baseUrl: 'https://octo.example.com', authType: 'api_key', authKeyEncrypted: 'x', handlesTicketDelivery: true, webhookSecretHash: 'h' },
    });
    integrationId = integration.id;
    const other = await g.db.prisma.integration.create({
      data: { partnerId: 'p-other', livePartnerId: 'p-other', baseUrl: 'https://octo.example.com', authType: 'api_key', authKeyEncrypted: 'x', handlesTicketDelivery: true, webhookSecretHash: 'h' },
    });
    // A backslash and a quote in an id: COPY's escaping must be undone exactly.
    const product = await g.db.prisma.product.create({ data: { integrationId, octoId: 'tour\\"1', raw: {}, contentHash: 'c1' } });
    const option = await g.db.prisma.productOption.create({ data: { productId: product.id, octoId: 'DEFAULT', raw: {}, contentHash: 'c2' } });
    const unit = await g.db.prisma.unit.create({ data: { optionId: option.id, octoId: 'adult', raw: {}, contentHash: 'c3' } });
    Object.assign(keys, { product: product.key, option: option.key, unit: unit.key });
    // A slot of the product, and one of a product the catalog never stored (pushed first): its key is null.
    for (const productId of ['tour\\"1', 'unknown']) {
      await g.db.pool.query(
        `WITH o AS (INSERT INTO slot_options (integration_id, product_octo_id, option_octo_id) VALUES ($1::uuid, $2, 'DEFAULT') RETURNING option_key)
         INSERT INTO availability_slots (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id, status, order_key, order_source)
         SELECT $1::uuid, o.option_key, 'infinity', $2, 'DEFAULT', 'slot-1', 'AVAILABLE', 1, 'received_at' FROM o`,
        [integrationId, productId],
      );
    }
    await g.db.prisma.product.create({ data: { integrationId, octoId: 'gone', raw: {}, contentHash: 'c4', active: false } });
    await g.db.prisma.product.create({ data: { integrationId: other.id, octoId: 'elsewhere', raw: {}, contentHash: 'c5' } });
    await appendChanges((text, values) => g.db.pool.query(text, values), [{
      integration_id: integrationId, type: 'product.created', product_octo_id: 'tour\\"1', option_octo_id: null, unit_octo_id: null, availability_id: null, content_hash: 'c1',
    }]);
  });

  const exportAs = (token: string, query = '') => g.http().get(`/api/v1/changes/export${query}`).set('authorization', `Bearer ${token}`).buffer(true).parse((res, done) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => done(null, text));
  });
  const linesOf = (text: string): Line[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);

  it('streams the live catalog of one integration, each line tagged with one position, then an end line', async () => {
    const res = await exportAs(g.token('reader', 'search-index'), `?integration_id=${integrationId}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = linesOf(res.body as string);
    const end = lines.at(-1)!;
    expect(end).toEqual({ kind: 'end', lines: lines.length - 1 });
    const body = lines.slice(0, -1);
    expect(new Set(body.map((l) => l.position))).toEqual(new Set(['1']));
    expect(body.map(({ position: _p, ...rest }) => rest).sort((a, b) => a.kind.localeCompare(b.kind) || String(a.productId).localeCompare(String(b.productId)))).toEqual([
      { kind: 'option', integration_id: integrationId, productId: 'tour\\"1', optionId: 'DEFAULT', key: keys.product, optionKey: keys.option, content_hash: 'c2' },
      { kind: 'product', integration_id: integrationId, productId: 'tour\\"1', key: keys.product, content_hash: 'c1' },
      ...([['tour\\"1', keys.product], ['unknown', null]] as const).map(([productId, key]) => ({
        kind: 'slot', integration_id: integrationId, productId, optionId: 'DEFAULT', availabilityId: 'slot-1',
        localDateTimeStart: null, status: 'AVAILABLE', vacancies: null, capacity: null, key, content_hash: expect.any(String),
      })),
      { kind: 'snapshot' },
      { kind: 'unit', integration_id: integrationId, productId: 'tour\\"1', optionId: 'DEFAULT', unitId: 'adult', key: keys.product, optionKey: keys.option, unitKey: keys.unit, content_hash: 'c3' },
    ]);
  });

  it('resumes the feed after the export position with every later change, and exports every integration without a filter', async () => {
    const reader = g.token('reader', 'search-index');
    const before = linesOf((await exportAs(reader)).body as string);
    expect(before.filter((l) => l.kind === 'product').map((l) => l.productId).sort()).toEqual(['elsewhere', 'tour\\"1']);
    const position = before[0]!.position;
    await appendChanges((text, values) => g.db.pool.query(text, values), [{
      integration_id: integrationId, type: 'product.updated', product_octo_id: 'later', option_octo_id: null, unit_octo_id: null, availability_id: null, content_hash: 'c6',
    }]);
    const after = await g.http().get(`/api/v1/changes?after=${position}`).set('authorization', `Bearer ${reader}`);
    expect(after.body.data.events.map((e: { productId: string }) => e.productId)).toEqual(['later']);
  });

  it('is for admins and readers, and refuses a bad or unknown query parameter', async () => {
    expect((await exportAs(g.token('partner', 'p-export'))).status).toBe(403);
    expect((await exportAs(g.token('admin', 'ops'), '?integration_id=nope')).status).toBe(400);
    expect((await exportAs(g.token('admin', 'ops'), '?verbose=1')).status).toBe(400);
    expect((await g.http().post('/api/v1/changes/export').set('authorization', `Bearer ${g.token('admin', 'ops')}`)).status).toBe(404);
  });
});
