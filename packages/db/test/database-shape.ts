import type { Client } from 'pg';
import type { ColumnShape, DatabaseShape, ForeignKeyShape, IndexShape } from './prisma-schema';

/**
 * The shape of a migrated database, read from pg_catalog in the form `describePrismaSchema` gives:
 * parent tables only (a partition is its parent's), without Prisma's `_prisma_migrations`.
 * Indexes Prisma cannot declare (partial, on expressions, with a collation or operator class, or
 * not btree) belong to the migrations alone and are listed apart, in `migrationOnlyIndexes`.
 */
export async function readDatabaseShape(client: Client): Promise<DatabaseShape & { migrationOnlyIndexes: string[] }> {
  const tables = `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> '_prisma_migrations'`;
  const columns = await client.query<{ table: string; column: string } & ColumnShape>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid IN (${tables}) AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  const shape: DatabaseShape & { migrationOnlyIndexes: string[] } = { tables: {}, indexes: [], foreignKeys: [], enums: {}, migrationOnlyIndexes: [] };
  for (const { table, column, type, nullable, default: value } of columns.rows) {
    (shape.tables[table] ??= {})[column] = { type: type.replace(/"/g, ''), nullable, default: value };
  }
  await readIndexes(client, tables, shape);
  const keys = await client.query<ForeignKeyShape>(
    `SELECT con.conname AS name, t.relname AS table, r.relname AS references,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i) AS "referencedColumns",
       con.confdeltype AS "onDelete", con.confupdtype AS "onUpdate"
     FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
     WHERE con.contype = 'f' AND con.conrelid IN (${tables}) AND con.conparentid = 0`,
  );
  shape.foreignKeys = keys.rows;
  const enums = await client.query<{ name: string; values: string[] }>(
    `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
     FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public' GROUP BY t.typname`,
  );
  for (const { name, values } of enums.rows) shape.enums[name] = values;
  return shape;
}

async function readIndexes(client: Client, tables: string, into: DatabaseShape & { migrationOnlyIndexes: string[] }): Promise<void> {
  const { rows } = await client.query<{ name: string; table: string; unique: boolean; primary: boolean; definition: string; plain: boolean }>(
    `SELECT i.relname AS name, t.relname AS table, x.indisunique AS unique, x.indisprimary AS primary,
       pg_get_indexdef(x.indexrelid) AS definition,
       x.indpred IS NULL AND x.indexprs IS NULL AND am.amname = 'btree'
         AND NOT EXISTS (SELECT 1 FROM unnest(x.indcollation) c WHERE c <> 0 AND c <> (SELECT oid FROM pg_collation WHERE collname = 'default'))
         AND x.indnkeyatts = x.indnatts AS plain
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = i.relam
     WHERE x.indrelid IN (${tables})`,
  );
  for (const row of rows) {
    const keys = /USING btree \((.*)\)$/.exec(row.definition)?.[1];
    if (!row.plain || keys === undefined || /[()]|COLLATE|_ops\b/.test(keys)) {
      into.migrationOnlyIndexes.push(row.name);
      continue;
    }
    const index: IndexShape = { name: row.name, table: row.table, unique: row.unique, primary: row.primary, columns: keys.split(', ').map((k) => k.replace(/"/g, '')) };
    into.indexes.push(index);
  }
}
