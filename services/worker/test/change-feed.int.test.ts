import type { ChangeEvent } from '@octo-sync/db';
import { availabilityApplyJob, type SlotChange } from '@octo-sync/jobs';
import { generateCatalog, withoutProducts, withUnitPrice, type GeneratedProduct } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

/** What the feed says an entity's last state is. */
interface Last {
  position: bigint;
  type: string;
  hash: string;
}

const keyOf = (e: Pick<ChangeEvent, 'integrationId' | 'productOctoId' | 'optionOctoId' | 'unitOctoId' | 'availabilityId'>, entity: string) =>
  [entity, e.integrationId, e.productOctoId, e.optionOctoId ?? '', e.unitOctoId ?? '', e.availabilityId ?? ''].join('|');

/**
 * A consumer that stores its cursor follows the feed while several syncs and notify batches
 * write at once; afterwards the last event it saw of every row must match the row as stored,
 * and every stored row must have events (nothing skipped, nothing reordered).
 */
describe('change feed under concurrent writers', () => {
  let h: Harness;
  const integrations: string[] = [];
  const catalog = generateCatalog({ products: 24, options: 2, units: 2, seed: 11 });

  beforeAll(async () => {
    h = await startHarness({ WORKER_CONCURRENCY: '4', AVAILABILITY_CONCURRENCY: '8', AVAILABILITY_MAX_BATCH: '5' });
    await h.startWorker();
    for (let i = 0; i < 3; i++) integrations.push(await h.createIntegration());
    h.supplier.setCatalog(catalog);
    for (const id of integrations) await h.sync(id);
  });
  afterAll(() => h.close());

  let sequence = 0;
  const notify = async (integrationId: string, product: GeneratedProduct, slot: number) => {
    const option = product.options[slot % 2]!;
    const changes: SlotChange[] = [0, 1, 2].map((i) => ({
      productId: product.id,
      optionId: option.id,
      availabilityId: `2026-07-0${1 + ((slot + i) % 5)}T09:00:00+00:00`,
      localDateTimeStart: `2026-07-0${1 + ((slot + i) % 5)}T09:00:00+00:00`,
      status: (slot + i) % 4 === 0 ? 'CLOSED' : 'AVAILABLE',
      vacancies: (slot * 7 + i) % 13,
      capacity: 20,
      orderSource: 'sequence',
      orderKey: String(++sequence),
    }));
    const job = await h.producer.enqueue(availabilityApplyJob, { integrationId, changes });
    const outcome = await h.producer.waitFor(job, 60_000);
    if (outcome.state !== 'completed') throw new Error(`notify ended ${outcome.state}`);
  };

  /** One round: every integration syncs `version` while notifies for every integration run alongside. */
  const round = async (version: GeneratedProduct[], force: boolean) => {
    h.supplier.setCatalog(version);
    const runs = await Promise.all(integrations.map((id) => h.enqueueRun(id, { force, trigger: 'admin' })));
    const notifies = integrations.flatMap((id) => catalog.slice(0, 8).map((product, i) => notify(id, product, i + sequence)));
    const finished = await Promise.all(runs.map((r) => r.finished));
    await Promise.all(notifies);
    for (const run of finished) expect(run.status).toBe('succeeded');
  };

  it('delivers every change once, in an order that ends at the stored state', async () => {
    const seen = new Map<string, Last>();
    const positions: bigint[] = [];
    let cursor: bigint | null = null;
    let writing = true;
    const follow = async (): Promise<number> => {
      const page = await h.db.changes.read(cursor, 37);
      if (page.kind !== 'page') throw new Error('cursor expired');
      for (const e of page.events) {
        positions.push(BigInt(e.position));
        const entity = e.type.split('.')[0]!;
        seen.set(keyOf(e, entity), { position: BigInt(e.position), type: e.type, hash: e.contentHash });
      }
      cursor = BigInt(page.next);
      return page.events.length;
    };
    const consumer = (async () => {
      while (writing) await follow();
      while ((await follow()) > 0);
    })();

    const first = catalog[0]!;
    await round(withUnitPrice(catalog, { productId: first.id, optionId: first.options[0]!.id, unitId: first.options[0]!.units[0]!.id }, 4242), false);
    await round(withoutProducts(catalog, catalog.slice(20).map((p) => p.id)), true);
    await round(catalog, false);
    writing = false;
    await consumer;

    for (let i = 1; i < positions.length; i++) expect(positions[i]! > positions[i - 1]!).toBe(true);
    const expected = await storedState(h);
    const actual = new Map([...seen].map(([key, last]) => [key, { removed: last.type.endsWith('.removed') || last.type === 'slot.closed', hash: last.hash }]));
    expect(actual.size).toBe(expected.size);
    expect(actual).toEqual(expected);
    // Products 20..23 left and came back in every integration.
    expect([...seen.values()].filter((l) => l.type === 'product.restored')).toHaveLength(4 * integrations.length);
  }, 180_000);
});

/** Every stored product, option, unit and slot as the feed should leave it: removed (or closed) and its hash. */
async function storedState(h: Harness): Promise<Map<string, { removed: boolean; hash: string }>> {
  const rows = await h.db.prisma.$queryRawUnsafe<Array<{ key: string; removed: boolean; hash: string }>>(`
    SELECT concat_ws('|', 'product', p.integration_id, p.octo_id, '', '', '') AS key, NOT p.active AS removed, p.content_hash AS hash FROM products p
    UNION ALL
    SELECT concat_ws('|', 'option', p.integration_id, p.octo_id, o.octo_id, '', ''), NOT o.active, o.content_hash
    FROM product_options o JOIN products p ON p.id = o.product_id
    UNION ALL
    SELECT concat_ws('|', 'unit', p.integration_id, p.octo_id, o.octo_id, u.octo_id, ''), NOT u.active, u.content_hash
    FROM units u JOIN product_options o ON o.id = u.option_id JOIN products p ON p.id = o.product_id
    UNION ALL
    SELECT concat_ws('|', 'slot', t.integration_id, t.product_octo_id, t.option_octo_id, '', t.availability_id), t.status = 'CLOSED', t.content_hash
    FROM availability_slots t`);
  return new Map(rows.map((r) => [r.key, { removed: r.removed, hash: r.hash }]));
}
