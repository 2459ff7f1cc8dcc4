/**
 * A reader of the subset of the Prisma schema language prisma/schema.prisma uses, and the
 * PostgreSQL database that schema describes, as Prisma's migrations would create it (its default
 * names, types and referential actions). There is no schema engine here to run `prisma migrate
 * diff`, and Prisma 7 exports no DMMF: this stands in for both in schema.int.test.ts.
 */

/** One field of a model: `name Type[]? @attributes`. */
interface Field {
  name: string;
  type: string;
  optional: boolean;
  list: boolean;
  attributes: string;
}

interface Block {
  kind: 'model' | 'enum';
  name: string;
  lines: string[];
}

/** A column as PostgreSQL describes it (`format_type`, nullability, `pg_get_expr` of its default). */
export interface ColumnShape {
  type: string;
  nullable: boolean;
  default: string | null;
}

/** An index by name: unique or not, its key columns (`col` or `col DESC`). */
export interface IndexShape {
  name: string;
  table: string;
  unique: boolean;
  primary: boolean;
  columns: string[];
}

/** A foreign key by name, with its referential actions as `pg_constraint` codes (c, r, n, a, d). */
export interface ForeignKeyShape {
  name: string;
  table: string;
  columns: string[];
  references: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
}

/** The database a schema describes. */
export interface DatabaseShape {
  tables: Record<string, Record<string, ColumnShape>>;
  indexes: IndexShape[];
  foreignKeys: ForeignKeyShape[];
  enums: Record<string, string[]>;
}

function blocks(text: string): Block[] {
  const found: Block[] = [];
  const uncommented = text.replace(/\/\/.*$/gm, '');
  for (const match of uncommented.matchAll(/^(model|enum)\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
    const lines = match[3]!.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    found.push({ kind: match[1] as Block['kind'], name: match[2]!, lines });
  }
  return found;
}

/** The argument text of `@name(...)` in `attributes` (balanced parentheses), or undefined. */
function argumentOf(attributes: string, name: string): string | undefined {
  const at = attributes.search(new RegExp(`(^|\\s)${name.replace(/[.@]/g, (c) => `\\${c}`)}\\(`));
  if (at < 0) return undefined;
  const open = attributes.indexOf('(', at);
  let depth = 0;
  for (let i = open; i < attributes.length; i++) {
    if (attributes[i] === '(') depth += 1;
    else if (attributes[i] === ')' && --depth === 0) return attributes.slice(open + 1, i);
  }
  throw new Error(`unbalanced ${name}( in ${attributes}`);
}

/** Prisma's default constraint name: `{table}_{columns}_{suffix}`, the first part cut to fit PostgreSQL's 63 bytes. */
const defaultName = (table: string, columns: readonly string[], suffix: string) => `${[table, ...columns].join('_').slice(0, 62 - suffix.length)}_${suffix}`;
const has = (attributes: string, name: string) => new RegExp(`(^|\\s)${name}(\\s|$|\\()`).test(attributes);
const mapped = (attributes: string, fallback: string) => /^"(.*)"$/.exec(argumentOf(attributes, '@map') ?? '')?.[1] ?? fallback;
const list = (text: string) => text.replace(/^\[|\]$/g, '').split(',').map((s) => s.trim()).filter((s) => s !== '');
/** `[a, b(sort: Desc)]` → the field names with their sort order. */
const keyFields = (text: string) => list(text.replace(/\(sort:\s*Desc\)/g, ' DESC'));

function fieldsOf(block: Block): { fields: Field[]; attributes: string[] } {
  const fields: Field[] = [];
  const attributes: string[] = [];
  for (const line of block.lines) {
    if (line.startsWith('@@')) {
      attributes.push(line);
      continue;
    }
    const m = /^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/.exec(line);
    if (m === null) throw new Error(`unreadable line in model ${block.name}: ${line}`);
    fields.push({ name: m[1]!, type: m[2]!, list: m[3] !== undefined, optional: m[4] !== undefined, attributes: m[5] ?? '' });
  }
  return { fields, attributes };
}

const SCALAR_TYPES: Record<string, string> = { String: 'text', Int: 'integer', BigInt: 'bigint', Boolean: 'boolean', DateTime: 'timestamp(3) without time zone', Json: 'jsonb', Float: 'double precision' };
const NATIVE_TYPES: Record<string, string> = { '@db.Char(1)': 'character(1)', '@db.Uuid': 'uuid', '@db.SmallInt': 'smallint', '@db.Date': 'date', '@db.Timestamptz(3)': 'timestamp(3) with time zone' };
/** Prisma's referential actions as `pg_constraint.confdeltype` / `confupdtype` codes. */
const ACTIONS: Record<string, string> = { Cascade: 'c', Restrict: 'r', NoAction: 'a', SetNull: 'n', SetDefault: 'd' };

function columnType(field: Field, enums: ReadonlyMap<string, string>): string {
  const native = Object.keys(NATIVE_TYPES).find((n) => field.attributes.includes(n));
  const unsupported = field.type === 'Unsupported' ? /^\("(.*?)"\)/.exec(field.attributes)?.[1] : undefined;
  const base = unsupported ?? (native !== undefined ? NATIVE_TYPES[native]! : (enums.get(field.type) ?? SCALAR_TYPES[field.type]));
  if (base === undefined) throw new Error(`no column type for ${field.name} ${field.type}`);
  return field.list ? `${base}[]` : base;
}

function columnDefault(field: Field, table: string, column: string, type: string): string | null {
  const value = argumentOf(field.attributes, '@default');
  if (value === undefined) return null;
  if (value === 'autoincrement()') return `nextval('${table}_${column}_seq'::regclass)`;
  if (value === 'now()') return 'CURRENT_TIMESTAMP';
  const generated = /^dbgenerated\("(.*)"\)$/.exec(value);
  if (generated !== null) return generated[1]!;
  if (value === '[]') return `ARRAY[]::${type}`;
  if (/^\[.*\]$/.test(value)) return `'{${list(value).map((v) => v.replace(/^"(.*)"$/, '$1')).join(',')}}'::${type}`;
  // A Prisma string escapes its quotes (a JSON default's): the column's default has them bare.
  if (/^".*"$/.test(value)) return `'${value.slice(1, -1).replace(/\\(.)/g, '$1')}'::${type}`;
  if (/^(true|false|-?\d+(\.\d+)?)$/.test(value)) return value;
  return `'${value}'::"${type}"`;
}

/** The database schema.prisma describes (tables, columns, indexes, foreign keys and enums). */
export function describePrismaSchema(text: string): DatabaseShape {
  const all = blocks(text);
  const enums: Record<string, string[]> = {};
  const enumTables = new Map<string, string>();
  for (const e of all.filter((b) => b.kind === 'enum')) {
    const dbName = /^@@map\("(.*)"\)$/.exec(e.lines.find((l) => l.startsWith('@@map')) ?? '')?.[1] ?? e.name;
    enumTables.set(e.name, dbName);
    enums[dbName] = e.lines.filter((l) => !l.startsWith('@@')).map((l) => mapped(l, l.split(/\s+/)[0]!));
  }
  const models = all.filter((b) => b.kind === 'model').map((b) => ({ block: b, ...fieldsOf(b) }));
  const tableOf = new Map(models.map((m) => [m.block.name, /^@@map\("(.*)"\)$/.exec(m.attributes.find((a) => a.startsWith('@@map')) ?? '')?.[1] ?? m.block.name]));
  const columnsOf = new Map(models.map((m) => [m.block.name, new Map(m.fields.map((f) => [f.name, mapped(f.attributes, f.name)]))]));
  const shape: DatabaseShape = { tables: {}, indexes: [], foreignKeys: [], enums };
  for (const model of models) describeModel(model, { tableOf, columnsOf, enums: enumTables }, shape);
  return shape;
}

interface Names {
  /** Table by model name. */
  tableOf: ReadonlyMap<string, string>;
  /** Column by model name and field name. */
  columnsOf: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Database type name by enum name. */
  enums: ReadonlyMap<string, string>;
}

function describeModel(model: { block: Block; fields: Field[]; attributes: string[] }, { tableOf, columnsOf, enums }: Names, shape: DatabaseShape): void {
  const table = tableOf.get(model.block.name)!;
  const columnOf = columnsOf.get(model.block.name)!;
  const columns: Record<string, ColumnShape> = {};
  for (const field of model.fields.filter((f) => !tableOf.has(f.type))) {
    const column = columnOf.get(field.name)!;
    const type = columnType(field, enums);
    columns[column] = { type, nullable: field.optional || field.list, default: columnDefault(field, table, column, type) };
    if (has(field.attributes, '@id')) shape.indexes.push({ name: `${table}_pkey`, table, unique: true, primary: true, columns: [column] });
    if (has(field.attributes, '@unique')) shape.indexes.push({ name: defaultName(table, [column], 'key'), table, unique: true, primary: false, columns: [column] });
  }
  shape.tables[table] = columns;
  const keyColumns = (text: string) => keyFields(text).map((k) => k.replace(/^\w+/, (f) => columnOf.get(f) ?? f));
  for (const attribute of model.attributes) {
    const kind = /^@@(id|unique|index)\(/.exec(attribute)?.[1];
    if (kind === undefined) continue;
    const args = argumentOf(attribute, `@@${kind}`)!;
    const cols = keyColumns(/^\[[^\]]*\]/.exec(args)![0]);
    const suffix = kind === 'id' ? 'pkey' : kind === 'unique' ? 'key' : 'idx';
    const name = kind === 'id' ? `${table}_pkey` : defaultName(table, cols.map((c) => c.replace(/ DESC$/, '')), suffix);
    shape.indexes.push({ name, table, unique: kind !== 'index', primary: kind === 'id', columns: cols });
  }
  for (const field of model.fields.filter((f) => tableOf.has(f.type))) {
    const relation = argumentOf(field.attributes, '@relation');
    const fields = relation === undefined ? undefined : /fields:\s*(\[[^\]]*\])/.exec(relation)?.[1];
    if (relation === undefined || fields === undefined) continue;
    const cols = list(fields).map((f) => columnOf.get(f) ?? f);
    const onDelete = /onDelete:\s*(\w+)/.exec(relation)?.[1] ?? (field.optional ? 'SetNull' : 'Restrict');
    const onUpdate = /onUpdate:\s*(\w+)/.exec(relation)?.[1] ?? 'Cascade';
    const target = tableOf.get(field.type)!;
    const referenced = list(/references:\s*(\[[^\]]*\])/.exec(relation)![1]!).map((r) => columnsOf.get(field.type)?.get(r) ?? r);
    shape.foreignKeys.push({ name: defaultName(table, cols, 'fkey'), table, columns: cols, references: target, referencedColumns: referenced, onDelete: ACTIONS[onDelete]!, onUpdate: ACTIONS[onUpdate]! });
  }
}
