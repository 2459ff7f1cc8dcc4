import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { createDb, type Db } from '@octo-sync/db';
import { createTestDatabase, type TestDatabase } from '@octo-sync/testkit';
import { readDatabaseShape } from './database-shape';
import { describePrismaSchema } from './prisma-schema';

/** Indexes the migrations create that Prisma cannot declare (partial, on expressions, with a collation). */
const MIGRATION_ONLY_INDEXES: readonly string[] = ['change_transactions_unsequenced_ticket', 'change_transactions_unsequenced_xact', 'availability_slots_option_local_date_idx'];

/** List columns the migrations make NOT NULL: Prisma cannot declare a list required (its lists are nullable columns). */
const NOT_NULL_LISTS: ReadonlyArray<[table: string, column: string]> = [
  ['integrations', 'supplier_throttle_statuses'],
  ['integrations', 'locales'],
];

/**
 * The migrations and prisma/schema.prisma must describe the same database: the same tables and
 * columns, each of the same type, nullability and default, the same indexes, foreign keys (with
 * their referential actions) and enums, read from pg_catalog of a migrated database and from
 * schema.prisma (see prisma-schema.ts); and every model can be written and read back.
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

  it('has the tables, columns (types, nullability, defaults), indexes, foreign keys and enums schema.prisma describes', async () => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    const actual = await readDatabaseShape(client).finally(() => client.end());
    const expected = describePrismaSchema(readFileSync(resolve(__dirname, '../../../prisma/schema.prisma'), 'utf8'));
    for (const [table, column] of NOT_NULL_LISTS) expected.tables[table]![column]!.nullable = false;

    expect(Object.keys(actual.tables).sort()).toEqual(Object.keys(expected.tables).sort());
    for (const [table, columns] of Object.entries(expected.tables)) expect({ table, columns: actual.tables[table] }).toEqual({ table, columns });
    const byName = <T extends { name: string }>(items: T[]) => [...items].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName(actual.indexes)).toEqual(byName(expected.indexes));
    expect(byName(actual.foreignKeys)).toEqual(byName(expected.foreignKeys));
    expect(actual.enums).toEqual(expected.enums);
    // What the migrations add beyond schema.prisma, which Prisma cannot declare: named here so a new one is a decision.
    expect(actual.migrationOnlyIndexes.sort()).toEqual([...MIGRATION_ONLY_INDEXES].sort());
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
    const slotOption = await prisma.slotOption.create({ data: { integrationId: integration.id, productOctoId: 'prod-1', optionOctoId: 'DEFAULT' } });
    await prisma.availabilitySlot.create({
      data: {
        integrationId: integration.id, optionKey: slotOption.optionKey, slotDate: new Date('2027-06-01'), productOctoId: 'prod-1', optionOctoId: 'DEFAULT', availabilityId: '2027-06-01T09:00:00+02:00',
        localDateTimeStart: '2027-06-01T09:00:00+02:00', startsAt: new Date('2027-06-01T07:00:00Z'), status: 'AVAILABLE', vacancies: 3, capacity: 10, orderKey: 5n, orderSource: 'sequence',
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
    expect(back.slots[0]).toMatchObject({ optionKey: slotOption.optionKey, slotDate: new Date('2027-06-01'), orderKey: 5n, startsAt: new Date('2027-06-01T07:00:00.000Z') });
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
