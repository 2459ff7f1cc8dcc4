import { Client } from 'pg';
import { createDb, type Db } from '@octo-sync/db';
import { createTestDatabase, type TestDatabase } from '@octo-sync/testkit';

/**
 * The migrations and prisma/schema.prisma must describe the same database: every column the
 * generated client knows exists (and nothing else), and every model can be written and read back.
 */
describe('schema.prisma agrees with prisma/migrations', () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'test-secrets-key' });
  });
  afterAll(async () => {
    await db.close();
    await database.drop();
  });

  it('has exactly the tables and columns of the generated client', async () => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    await client.end();
    const actual = new Map<string, Set<string>>();
    for (const r of rows) actual.set(r.table_name, (actual.get(r.table_name) ?? new Set()).add(r.column_name));

    // The generated client's own description of the schema (Prisma 7 has no public DMMF export).
    type Field = { name: string; kind: string; dbName?: string };
    const runtime = (db.prisma as unknown as { _runtimeDataModel: { models: Record<string, { dbName: string | null; fields: Field[] }> } })._runtimeDataModel;
    const models = Object.entries(runtime.models).map(([name, m]) => ({ name, dbName: m.dbName, fields: m.fields }));
    expect(models.length).toBe(12);
    expect(new Set(models.map((m) => m.dbName ?? m.name))).toEqual(new Set(actual.keys()));
    for (const model of models) {
      const expected = new Set(model.fields.filter((f) => f.kind !== 'object').map((f) => f.dbName ?? f.name));
      expect({ table: model.dbName, columns: actual.get(model.dbName ?? model.name) }).toEqual({ table: model.dbName, columns: expected });
    }
  });

  it('writes and reads back every model through the generated client', async () => {
    const { prisma } = db;
    const integration = await prisma.integration.create({
      data: { partnerId: 'p-1', livePartnerId: 'p-1', baseUrl: 'https://octo.example.com', authType: 'api_key', authKeyEncrypted: 'x', handlesTicketDelivery: true, webhookSecretHash: 'h' },
    });
    const product = await prisma.product.create({
      data: { integrationId: integration.id, octoId: 'prod-1', raw: { id: 'prod-1', extra: [1, 'two'] }, contentHash: 'c1', title: 'Tour' },
    });
    const option = await prisma.productOption.create({
      data: { productId: product.id, octoId: 'DEFAULT', raw: {}, contentHash: 'c2', availabilityLocalStartTimes: ['09:00', '14:30'], pricingFrom: [{ retail: 1250, currency: 'EUR' }] },
    });
    const unit = await prisma.unit.create({ data: { optionId: option.id, octoId: 'adult', raw: {}, contentHash: 'c3', minAge: 18 } });
    const slot = await prisma.availabilitySlot.create({
      data: {
        integrationId: integration.id, productOctoId: 'prod-1', optionOctoId: 'DEFAULT', availabilityId: '2026-06-01T09:00:00+02:00',
        localDateTimeStart: '2026-06-01T09:00:00+02:00', startsAt: new Date('2026-06-01T07:00:00Z'), status: 'AVAILABLE', vacancies: 3, capacity: 10, orderKey: 5n, orderSource: 'sequence',
      },
    });
    const run = await prisma.syncRun.create({ data: { integrationId: integration.id, trigger: 'webhook', counts: { products: { created: 1 } } } });

    const back = await prisma.integration.findUniqueOrThrow({
      where: { id: integration.id },
      include: { products: { include: { options: { include: { units: true } } } }, slots: true, syncRuns: true },
    });
    expect(back).toMatchObject({ syncStatus: 'idle', healthStatus: 'HEALTHY', isApproved: false, isActive: true, syncFence: 0n, consecutiveFailures: 0 });
    expect(back.products[0]).toMatchObject({ octoId: 'prod-1', raw: { id: 'prod-1', extra: [1, 'two'] }, active: true, title: 'Tour' });
    expect(back.products[0]?.options[0]).toMatchObject({ availabilityLocalStartTimes: ['09:00', '14:30'], pricingFrom: [{ retail: 1250, currency: 'EUR' }] });
    expect(back.products[0]?.options[0]?.units[0]).toMatchObject({ id: unit.id, minAge: 18 });
    expect(back.slots[0]).toMatchObject({ id: slot.id, orderKey: 5n, startsAt: new Date('2026-06-01T07:00:00.000Z') });
    expect(back.syncRuns[0]).toMatchObject({ id: run.id, status: 'queued', force: false, attempts: 0, counts: { products: { created: 1 } } });
  });

  it('allows one live integration per partner, and any number of deleted ones', async () => {
    const base = { partnerId: 'p-2', baseUrl: 'https://a.example.com', authType: 'bearer' as const, authKeyEncrypted: 'x', handlesTicketDelivery: false, webhookSecretHash: 'h' };
    const first = await db.prisma.integration.create({ data: { ...base, livePartnerId: 'p-2' } });
    await expect(db.prisma.integration.create({ data: { ...base, livePartnerId: 'p-2' } })).rejects.toMatchObject({ code: 'P2002' });
    await db.prisma.integration.update({ where: { id: first.id }, data: { livePartnerId: null, deletedAt: new Date() } });
    await expect(db.prisma.integration.create({ data: { ...base, livePartnerId: 'p-2' } })).resolves.toMatchObject({ partnerId: 'p-2' });
  });
});
