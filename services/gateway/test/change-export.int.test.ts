import { appendChanges } from '@octo-sync/db';
import { useGateway } from './harness';

type Line = { kind: string; position: string; productId?: string; optionId?: string; unitId?: string; integration_id?: string; content_hash?: string; lines?: number };

/**
 * GET /api/v1/changes/export streams the live catalog (and slots) as NDJSON, every line tagged with
 * the feed position to resume from; what changes after the export is read after that position.
 */
describe('change feed: snapshot export', () => {
  const { h: g } = useGateway();
  let integrationId: string;
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
    await g.db.prisma.unit.create({ data: { optionId: option.id, octoId: 'adult', raw: {}, contentHash: 'c3' } });
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
    expect(body.map(({ position: _p, ...rest }) => rest).sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
      { kind: 'option', integration_id: integrationId, productId: 'tour\\"1', optionId: 'DEFAULT', content_hash: 'c2' },
      { kind: 'product', integration_id: integrationId, productId: 'tour\\"1', content_hash: 'c1' },
      { kind: 'snapshot' },
      { kind: 'unit', integration_id: integrationId, productId: 'tour\\"1', optionId: 'DEFAULT', unitId: 'adult', content_hash: 'c3' },
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
