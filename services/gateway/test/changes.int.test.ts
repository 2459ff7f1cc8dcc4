import { appendChanges, type ChangeEventRow } from '@octo-sync/db';
import { BASE, createBody, startGateway, useGateway } from './harness';

describe('GET /api/v1/changes', () => {
  const { h: g } = useGateway();

  const changes = (token: string, query = '') => g.http().get(`/api/v1/changes${query}`).set('authorization', `Bearer ${token}`);

  it('pages through the feed with a cursor, for readers and admins', async () => {
    const partner = g.token('partner', 'partner-feed');
    const created = await g.http().post(BASE).set('authorization', `Bearer ${partner}`).send(createBody());
    expect(created.status).toBe(201);
    const id = created.body.data._id as string;
    const events = ['p1', 'p2', 'p3'].map((p): ChangeEventRow => ({ integration_id: id, type: 'product.created', product_octo_id: p, option_octo_id: null, unit_octo_id: null, availability_id: null, content_hash: `h-${p}` }));
    await appendChanges((text, values) => g.db.pool.query(text, values), events);
    const reader = g.token('reader', 'search-index');
    const first = await changes(reader, '?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.data.events).toEqual([
      expect.objectContaining({ type: 'product.created', integration_id: id, productId: 'p1', optionId: null, unitId: null, availabilityId: null, content_hash: 'h-p1' }),
      expect.objectContaining({ productId: 'p2' }),
    ]);
    expect(first.body.data.next).toBe(first.body.data.events[1].id);
    const second = await changes(g.token('admin', 'ops'), `?after=${first.body.data.next}&limit=2`);
    expect(second.body.data.events.map((e: { productId: string }) => e.productId)).toEqual(['p3']);
    const empty = await changes(reader, `?after=${second.body.data.next}`);
    expect(empty.body.data).toEqual({ events: [], next: second.body.data.next });
  });

  it('names the locale of a content change in another locale, null on the catalog rows\' own events', async () => {
    const created = await g.http().post(BASE).set('authorization', `Bearer ${g.token('partner', 'partner-feed-locale')}`).send(createBody());
    const id = created.body.data._id as string;
    const base: ChangeEventRow = { integration_id: id, type: 'product.updated', product_octo_id: 'p9', option_octo_id: null, unit_octo_id: null, availability_id: null, content_hash: 'h-en' };
    await appendChanges((text, values) => g.db.pool.query(text, values), [base, { ...base, content_hash: 'h-de', locale: 'de' }]);
    const reader = g.token('reader', 'search-index');
    let after = '0';
    const seen: Array<{ productId: string; locale: string | null; content_hash: string }> = [];
    for (;;) {
      const page = await changes(reader, `?after=${after}&limit=1000`);
      seen.push(...page.body.data.events);
      if (page.body.data.events.length === 0) break;
      after = page.body.data.next;
    }
    expect(seen.filter((e) => e.productId === 'p9').map((e) => [e.content_hash, e.locale])).toEqual([
      ['h-en', null],
      ['h-de', 'de'],
    ]);
  });

  it('is for admins and readers only, and a reader reads nothing else', async () => {
    expect((await changes(g.token('partner', 'partner-x'))).status).toBe(403);
    expect((await g.http().get('/api/v1/changes')).status).toBe(401);
    const reader = g.token('reader', 'search-index');
    expect((await g.http().get(`${BASE}/00000000-0000-4000-8000-000000000000`).set('authorization', `Bearer ${reader}`)).status).toBe(403);
  });

  it('refuses a malformed cursor and answers 410 CURSOR_EXPIRED behind the retention', async () => {
    const reader = g.token('reader', 'search-index');
    const bad = await changes(reader, '?after=abc&limit=5000');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toEqual(expect.arrayContaining([expect.stringMatching(/^after: /), expect.stringMatching(/^limit: /)]));
    await g.db.pool.query(`INSERT INTO change_feed_state (id, pruned_through) VALUES (1, 2)`);
    const expired = await changes(reader, '?after=1');
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ success: 0, code: 410, reason: 'CURSOR_EXPIRED' });
  });

  it('answers 400 CURSOR_AHEAD for a cursor past the newest position, and takes the newest itself', async () => {
    const empty = await startGateway();
    try {
      const reader = empty.token('reader', 'search-index');
      const read = (query: string) => empty.http().get(`/api/v1/changes${query}`).set('authorization', `Bearer ${reader}`);
      // An empty feed: 0 is its newest position, 1 was never returned.
      expect((await read('?after=0')).body.data).toEqual({ events: [], next: '0' });
      const ahead = await read('?after=1');
      expect(ahead.status).toBe(400);
      expect(ahead.body).toMatchObject({ success: 0, code: 400, reason: 'CURSOR_AHEAD' });
      expect(ahead.body.error).toEqual([expect.stringMatching(/^after: is past the newest position of the feed \(0\)/)]);

      const partner = empty.token('partner', 'partner-ahead');
      const created = await empty.http().post(BASE).set('authorization', `Bearer ${partner}`).send(createBody());
      const event: ChangeEventRow = { integration_id: created.body.data._id, type: 'product.created', product_octo_id: 'p1', option_octo_id: null, unit_octo_id: null, availability_id: null, content_hash: 'h' };
      await appendChanges((text, values) => empty.db.pool.query(text, values), [event]);
      const page = await read('');
      const newest = BigInt(page.body.data.next as string);
      expect((await read(`?after=${newest}`)).body.data).toEqual({ events: [], next: String(newest) });
      expect((await read(`?after=${newest + 1n}`)).body.reason).toBe('CURSOR_AHEAD');
      // Retention removed every event: the watermark is the newest position.
      await empty.db.pool.query(`DELETE FROM change_events`);
      await empty.db.pool.query(`INSERT INTO change_feed_state (id, pruned_through) VALUES (1, $1)`, [String(newest)]);
      expect((await read(`?after=${newest}`)).status).toBe(200);
      expect((await read(`?after=${newest + 1n}`)).status).toBe(400);
    } finally {
      await empty.close();
    }
  });
});
