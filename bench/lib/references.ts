import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { connectClient, type Db, type OptionRow, type ProductRow, type UnitRow } from '@octo-sync/db';
import type { CatalogRows } from '@octo-sync/worker/src/catalog/map-catalog';
import { reportLostConnection } from './bench-db';

/** JSON columns as Prisma takes them: SQL NULL for a missing value, the value otherwise. */
type PrismaJson = Parameters<Db['prisma']['unit']['create']>[0]['data']['raw'];
const asJson = (value: unknown) => value as PrismaJson;
const nullableJson = (value: unknown) => (value === null ? undefined : (value as PrismaJson));

/**
 * The naive write path: one Prisma `upsert` per row, parents first, as an ORM-first sync would do
 * it. Returns the rows written and the seconds it took.
 */
export async function naiveUpserts(db: Db, integrationId: string, rows: CatalogRows): Promise<{ rows: number; seconds: number }> {
  const started = process.hrtime.bigint();
  const productIds = new Map<string, bigint>();
  const optionIds = new Map<string, bigint>();
  for (const p of rows.products) {
    const data = {
      internalName: p.internal_name,
      reference: p.reference,
      title: p.title,
      locale: p.locale,
      timeZone: p.time_zone,
      availabilityType: p.availability_type,
      defaultCurrency: p.default_currency,
      pricingPer: p.pricing_per,
      raw: asJson(p.raw),
      contentHash: p.content_hash,
      active: true,
      removedAt: null,
    };
    const row = await db.prisma.product.upsert({
      where: { integrationId_octoId: { integrationId, octoId: p.octo_id } },
      create: { integrationId, octoId: p.octo_id, ...data },
      update: data,
      select: { id: true },
    });
    productIds.set(p.octo_id, row.id);
  }
  for (const o of rows.options) {
    const productId = productIds.get(o.product_octo_id)!;
    const data = {
      isDefault: o.is_default,
      internalName: o.internal_name,
      reference: o.reference,
      availabilityLocalStartTimes: o.availability_local_start_times ?? [],
      cancellationCutoffAmount: o.cancellation_cutoff_amount,
      cancellationCutoffUnit: o.cancellation_cutoff_unit,
      minUnits: o.min_units,
      maxUnits: o.max_units,
      pricingFrom: nullableJson(o.pricing_from),
      raw: asJson(o.raw),
      contentHash: o.content_hash,
      active: true,
      removedAt: null,
    };
    const row = await db.prisma.productOption.upsert({
      where: { productId_octoId: { productId, octoId: o.octo_id } },
      create: { productId, octoId: o.octo_id, ...data },
      update: data,
      select: { id: true },
    });
    optionIds.set(`${o.product_octo_id}\u0000${o.octo_id}`, row.id);
  }
  for (const u of rows.units) {
    const optionId = optionIds.get(`${u.product_octo_id}\u0000${u.option_octo_id}`)!;
    const data = {
      internalName: u.internal_name,
      reference: u.reference,
      type: u.type,
      minAge: u.min_age,
      maxAge: u.max_age,
      minQuantity: u.min_quantity,
      maxQuantity: u.max_quantity,
      paxCount: u.pax_count,
      pricingFrom: nullableJson(u.pricing_from),
      raw: asJson(u.raw),
      contentHash: u.content_hash,
      active: true,
      removedAt: null,
    };
    await db.prisma.unit.upsert({
      where: { optionId_octoId: { optionId, octoId: u.octo_id } },
      create: { optionId, octoId: u.octo_id, ...data },
      update: data,
      select: { id: true },
    });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { rows: rows.products.length + rows.options.length + rows.units.length, seconds };
}

/** COPY text format: backslash, tab, newline and carriage return escaped; NULL as \N. */
function field(value: string | null): string {
  if (value === null) return '\\N';
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : value;
}
const num = (value: number | null) => (value === null ? '\\N' : String(value));
const bool = (value: boolean | null) => (value === null ? '\\N' : value ? 't' : 'f');
const json = (value: unknown) => (value === null || value === undefined ? '\\N' : field(JSON.stringify(value)));
function textArray(values: string[] | null): string {
  if (values === null) return '\\N';
  return field(`{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`);
}

/** The floors' unindexed tables, made afresh. */
export const COPY_TABLES = `
DROP TABLE IF EXISTS bench_copy_products, bench_copy_options, bench_copy_units;
CREATE TABLE bench_copy_products (integration_id uuid, octo_id text, internal_name text, reference text, title text,
  locale text, time_zone text, availability_type text, default_currency text, pricing_per text, raw jsonb, content_hash text);
CREATE TABLE bench_copy_options (integration_id uuid, product_octo_id text, octo_id text, is_default boolean,
  internal_name text, reference text, availability_local_start_times text[], cancellation_cutoff_amount integer,
  cancellation_cutoff_unit text, min_units integer, max_units integer, pricing_from jsonb, raw jsonb, content_hash text);
CREATE TABLE bench_copy_units (integration_id uuid, product_octo_id text, option_octo_id text, octo_id text,
  internal_name text, reference text, type text, min_age integer, max_age integer, min_quantity integer,
  max_quantity integer, pax_count integer, pricing_from jsonb, raw jsonb, content_hash text);`;

/** Lines of COPY text, a few thousand rows per chunk (what a real COPY writer would buffer). */
function* lines<R>(rows: readonly R[], line: (row: R) => string): Generator<string> {
  const PER_CHUNK = 1_000;
  for (let i = 0; i < rows.length; i += PER_CHUNK) {
    let out = '';
    for (const row of rows.slice(i, i + PER_CHUNK)) out += `${line(row)}\n`;
    yield out;
  }
}

/**
 * The floor: the same rows, same columns (raw jsonb included), streamed with COPY FROM STDIN into
 * unindexed, freshly created staging tables in one transaction. Serialising the rows to COPY text
 * is inside the timing (a sync has to encode its rows too); mapping and hashing are not.
 */
export async function copyFloor(databaseUrl: string, integrationId: string, rows: CatalogRows): Promise<{ rows: number; seconds: number }> {
  const client = await connectClient(databaseUrl, reportLostConnection);
  try {
    await client.query(COPY_TABLES);
    const started = process.hrtime.bigint();
    await client.query('BEGIN');
    await copyRows(client, integrationId, rows);
    await client.query('COMMIT');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { rows: counted } = await client.query<{ n: string }>(
      'SELECT (SELECT count(*) FROM bench_copy_products) + (SELECT count(*) FROM bench_copy_options) + (SELECT count(*) FROM bench_copy_units) AS n',
    );
    await client.query('DROP TABLE bench_copy_products, bench_copy_options, bench_copy_units');
    return { rows: Number(counted[0]?.n ?? 0), seconds };
  } finally {
    await client.end();
  }
}

/** The rows COPY'd into the tables of {@link COPY_TABLES} (in the caller's transaction), the encoding included. */
export async function copyRows(client: Pick<Client, 'query'>, integrationId: string, rows: CatalogRows): Promise<void> {
  const id = integrationId;
  await pipeline(
      Readable.from(
        lines<ProductRow>(rows.products, (p) =>
          [id, field(p.octo_id), field(p.internal_name), field(p.reference), field(p.title), field(p.locale), field(p.time_zone),
            field(p.availability_type), field(p.default_currency), field(p.pricing_per), json(p.raw), field(p.content_hash)].join('\t'),
        ),
      ),
      client.query(copyFrom('COPY bench_copy_products FROM STDIN')),
    );
    await pipeline(
      Readable.from(
        lines<OptionRow>(rows.options, (o) =>
          [id, field(o.product_octo_id), field(o.octo_id), bool(o.is_default), field(o.internal_name), field(o.reference),
            textArray(o.availability_local_start_times), num(o.cancellation_cutoff_amount), field(o.cancellation_cutoff_unit),
            num(o.min_units), num(o.max_units), json(o.pricing_from), json(o.raw), field(o.content_hash)].join('\t'),
        ),
      ),
      client.query(copyFrom('COPY bench_copy_options FROM STDIN')),
    );
    await pipeline(
      Readable.from(
        lines<UnitRow>(rows.units, (u) =>
          [id, field(u.product_octo_id), field(u.option_octo_id), field(u.octo_id), field(u.internal_name), field(u.reference),
            field(u.type), num(u.min_age), num(u.max_age), num(u.min_quantity), num(u.max_quantity), num(u.pax_count),
            json(u.pricing_from), json(u.raw), field(u.content_hash)].join('\t'),
        ),
      ),
      client.query(copyFrom('COPY bench_copy_units FROM STDIN')),
    );
}
