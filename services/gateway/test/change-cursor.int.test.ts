import { appendChanges, type ChangeEventRow } from '@octo-sync/db';
import { useGateway } from './harness';

const INTEGRATION = '00000000-0000-4000-8000-000000000031';

/**
 * A reader token's subject names a registered consumer: it acknowledges positions, reads without
 * `after` resume from its cursor, and its lag is what it has not acknowledged.
 */
describe('change feed: registered consumers', () => {
  const { h: g } = useGateway();

  const append = (products: readonly string[]) =>
    appendChanges((text, values) => g.db.pool.query(text, values), products.map((p): ChangeEventRow => ({
      integration_id: INTEGRATION, type: 'product.updated', product_octo_id: p, option_octo_id: null, unit_octo_id: null, availability_id: null, content_hash: `h-${p}`,
    })));
  const as = (role: 'reader' | 'admin', sub: string) => {
    const auth = `Bearer ${g.token(role, sub)}`;
    return {
      read: (query = '') => g.http().get(`/api/v1/changes${query}`).set('authorization', auth),
      ack: (position: string) => g.http().post('/api/v1/changes/cursor').set('authorization', auth).send({ position }),
      cursor: () => g.http().get('/api/v1/changes/cursor').set('authorization', auth),
      remove: () => g.http().delete('/api/v1/changes/cursor').set('authorization', auth),
    };
  };
  const products = (res: { body: { data: { events: Array<{ productId: string }> } } }) => res.body.data.events.map((e) => e.productId);

  it('resumes a reader from its acknowledged cursor, each consumer from its own', async () => {
    await append(['a1', 'a2', 'a3']);
    const index = as('reader', 'search-index');
    const other = as('reader', 'warehouse');
    expect((await index.cursor()).body.data).toEqual({ consumer: 'search-index', position: null, acked_at: null });
    // Not registered: from the oldest event kept.
    const first = await index.read('?limit=2');
    expect(products(first)).toEqual(['a1', 'a2']);
    const acked = await index.ack(first.body.data.next as string);
    expect(acked.status).toBe(200);
    expect(acked.body.data).toMatchObject({ consumer: 'search-index', position: first.body.data.next });

    await append(['a4']);
    expect(products(await index.read())).toEqual(['a3', 'a4']);
    expect(products(await other.read())).toEqual(['a1', 'a2', 'a3', 'a4']);
    // `after` still wins over the cursor.
    expect(products(await index.read('?after=0&limit=1'))).toEqual(['a1']);

    // The first event it has not acknowledged (a3) became readable two minutes ago.
    await g.db.pool.query(`UPDATE change_transactions SET at = now() - interval '120 seconds' WHERE last_position = $1::bigint + 1`, [first.body.data.next]);
    const lag = new Map((await g.db.changes.consumers.lag()).map((l) => [l.name, l]));
    expect(lag.get('search-index')).toMatchObject({ positions: 2 });
    expect(lag.get('search-index')!.seconds).toBeGreaterThanOrEqual(120);
    expect(lag.has('warehouse')).toBe(false);
    // Caught up: no lag in positions or seconds.
    const newest = (await index.read()).body.data.next as string;
    expect((await other.ack(newest)).status).toBe(200);
    expect((await g.db.changes.consumers.lag()).find((l) => l.name === 'warehouse')).toEqual({ name: 'warehouse', positions: 0, seconds: 0 });
  });

  it('refuses a position past the newest, and cursors for other roles', async () => {
    const index = as('reader', 'search-index-2');
    const ahead = await index.ack('999999');
    expect(ahead.status).toBe(400);
    expect(ahead.body).toMatchObject({ reason: 'CURSOR_AHEAD' });
    expect((await index.ack('x1')).status).toBe(400);
    // Past a bigint: refused by the schema (it used to reach Postgres and answer 500).
    const huge = await index.ack('9223372036854775808');
    expect(huge.status).toBe(400);
    expect(huge.body).toMatchObject({ reason: 'VALIDATION_FAILED' });
    expect((await index.read('?after=9999999999999999999')).body).toMatchObject({ reason: 'VALIDATION_FAILED' });
    expect((await index.ack('9223372036854775807')).body).toMatchObject({ reason: 'CURSOR_AHEAD' });
    expect((await index.read('?after=9223372036854775807')).body).toMatchObject({ reason: 'CURSOR_AHEAD' });
    expect((await as('admin', 'ops').ack('0')).status).toBe(403);
  });

  it('forgets an unregistered consumer: no cursor, no lag', async () => {
    const gone = as('reader', 'retired');
    expect((await gone.ack('0')).status).toBe(200);
    expect((await g.db.changes.consumers.lag()).map((l) => l.name)).toContain('retired');
    expect((await gone.remove()).body.data).toEqual({ consumer: 'retired', removed: true });
    expect((await g.db.changes.consumers.lag()).map((l) => l.name)).not.toContain('retired');
    expect((await gone.cursor()).body.data.position).toBeNull();
  });

  it('refuses to acknowledge a position behind the retention watermark, and stores nothing', async () => {
    const late = as('reader', 'late');
    await append(['b1', 'b2']);
    const through = (await late.read()).body.data.next as string;
    await g.db.pool.query(`UPDATE change_transactions SET at = now() - interval '30 days' WHERE last_position <= $1::bigint`, [through]);
    await g.db.changes.prune(new Date(Date.now() - 7 * 86_400_000), 1000, 10);
    const expired = await late.ack('0');
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ reason: 'CURSOR_EXPIRED' });
    expect((await late.cursor()).body.data.position).toBeNull();
    expect((await late.ack(through)).status).toBe(200);
  });
});
