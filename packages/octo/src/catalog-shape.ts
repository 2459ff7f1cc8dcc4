import { canonicalJson, sha256Hex } from './canonical-json';
import type { OctoProduct } from './catalog';
import { capabilityIds } from './conformance-quirks';

/** The JSON types a path can hold, in the order a path's types are listed. */
const JSON_TYPES = ['string', 'number', 'boolean', 'null', 'object', 'array'] as const;
export type JsonType = (typeof JSON_TYPES)[number];

/**
 * A catalog's shape: per JSON path of each entity kind (`product.title`, `option.restrictions.minUnits`,
 * `unit.pricingFrom[].retail`; an array's elements are `[]`; a product's options and an option's
 * units are entities of their own), the JSON types seen there; the `Octo-Capabilities` the
 * supplier answered with (null: no such header); and the answer's headers that say how to read it.
 */
export interface CatalogShape {
  paths: Record<string, JsonType[]>;
  capabilities: string[] | null;
  headers: string[];
}

/** What changed between two shapes (the stored one and a run's). */
export interface ShapeDrift {
  added: Array<{ path: string; types: JsonType[] }>;
  removed: Array<{ path: string; types: JsonType[] }>;
  retyped: Array<{ path: string; from: JsonType[]; to: JsonType[] }>;
  capabilities: { added: string[]; removed: string[] };
  headers: { added: string[]; removed: string[] };
}

/** The answer headers a shape records. */
export interface ShapeHeaders {
  contentType?: string | undefined;
  octoHeaders: { octoCapabilities?: string; contentLanguage?: string; availableLanguages?: string };
}

/** Paths a shape records at most (beyond, an object keyed by ids would make every run drift): the rest are not recorded. */
export const MAX_SHAPE_PATHS = 2_000;
/** Nesting below an entity past which values are not walked. */
const MAX_DEPTH = 12;

type Kind = 'product' | 'option' | 'unit';

interface PathNode {
  readonly path: string;
  /** Type bits seen in this run, and in the accepted shape. */
  seen: number;
  readonly accepted: number;
  children: Map<string, PathNode> | undefined;
}

function typeBit(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return 1;
    case 'number':
      return 2;
    case 'boolean':
      return 4;
    case 'object':
      return value === null ? 8 : Array.isArray(value) ? 32 : 16;
    default:
      return 0;
  }
}

const OBJECT = 16;
const ARRAY = 32;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typesOf(bits: number): JsonType[] {
  return JSON_TYPES.filter((_, i) => (bits & (1 << i)) !== 0);
}

function bitsOf(types: readonly JsonType[]): number {
  let bits = 0;
  for (const t of types) bits |= 1 << JSON_TYPES.indexOf(t);
  return bits;
}

/**
 * Records a catalog's shape while its products are mapped: each parsed product is walked once
 * through a tree of the paths met so far (a map lookup per value, no string built per value).
 * Given the accepted shape, {@link product} also says whether the product carries a path or type
 * that shape lacks. A product that was not walked (its bytes were the stored ones, or it was
 * quarantined) makes the run's view partial: the accepted shape's paths are then kept, since that
 * product may still carry them (a removal is reported by a run that parsed every product).
 */
export class ShapeRecorder {
  private readonly roots: Record<Kind, PathNode>;
  private readonly accepted: Map<string, number>;
  private paths = 0;
  private partial = false;
  /** The product being walked's first novelty. */
  private novel: string | undefined;

  constructor(accepted: CatalogShape | null) {
    this.accepted = new Map(Object.entries(accepted?.paths ?? {}).map(([path, types]) => [path, bitsOf(types)]));
    this.roots = { product: this.node('product'), option: this.node('option'), unit: this.node('unit') };
  }

  /** Walks `product`; returns the first path whose type the accepted shape lacks (undefined: none, or no accepted shape). */
  product(product: OctoProduct): string | undefined {
    this.novel = undefined;
    this.fields(this.roots.product, product, 'options', 0);
    const options: unknown = product.options;
    if (!Array.isArray(options)) return this.novel;
    for (const option of options as unknown[]) {
      if (!isRecord(option)) continue;
      this.fields(this.roots.option, option, 'units', 0);
      const units = option.units;
      if (Array.isArray(units)) for (const unit of units as unknown[]) if (isRecord(unit)) this.fields(this.roots.unit, unit, undefined, 0);
    }
    return this.novel;
  }

  /** A product taken without walking it. */
  skipped(): void {
    this.partial = true;
  }

  /** The shape recorded, with the answer's capabilities and headers. */
  shape(headers: ShapeHeaders): CatalogShape {
    const bits = new Map(this.partial ? this.accepted : []);
    const visit = (node: PathNode) => {
      if (node.seen !== 0) bits.set(node.path, (bits.get(node.path) ?? 0) | node.seen);
      if (node.children) for (const child of node.children.values()) visit(child);
    };
    for (const root of Object.values(this.roots)) if (root.children) for (const child of root.children.values()) visit(child);
    const paths: Record<string, JsonType[]> = {};
    for (const path of [...bits.keys()].sort()) paths[path] = typesOf(bits.get(path)!);
    return { paths, ...answerShape(headers) };
  }

  /** Walks an object's fields (`child`: an entity's children's field, walked as entities of their own). */
  private fields(node: PathNode, record: Record<string, unknown>, child: string | undefined, depth: number): void {
    // for…in, not Object.keys: no array per object (a parsed object has no inherited enumerable keys).
    for (const key in record) {
      const next = this.childOf(node, key);
      if (next === undefined) continue;
      const value = record[key];
      if (key === child) this.mark(next, Array.isArray(value) ? ARRAY : typeBit(value));
      else this.value(next, value, depth + 1);
    }
  }

  /** Records `value`'s type at `node`, then walks what it holds. */
  private value(node: PathNode, value: unknown, depth: number): void {
    if (typeof value !== 'object' || value === null) {
      this.mark(node, typeBit(value));
      return;
    }
    if (Array.isArray(value)) {
      this.mark(node, ARRAY);
      const items = depth > MAX_DEPTH ? undefined : this.childOf(node, '[]');
      if (items !== undefined) for (const item of value as unknown[]) this.value(items, item, depth + 1);
      return;
    }
    this.mark(node, OBJECT);
    if (depth <= MAX_DEPTH) this.fields(node, value as Record<string, unknown>, undefined, depth);
  }

  /** Records a type at `node`; the first path of the product whose type the accepted shape lacks becomes its novelty. */
  private mark(node: PathNode, bit: number): void {
    node.seen |= bit;
    if ((node.accepted & bit) === 0 && this.novel === undefined && this.accepted.size > 0) this.novel = node.path;
  }

  private childOf(parent: PathNode, key: string): PathNode | undefined {
    const known = parent.children?.get(key);
    if (known !== undefined) return known;
    parent.children ??= new Map();
    if (this.paths >= MAX_SHAPE_PATHS) return undefined;
    this.paths += 1;
    const node = this.node(key === '[]' ? `${parent.path}[]` : `${parent.path}.${key}`);
    parent.children.set(key, node);
    return node;
  }

  private node(path: string): PathNode {
    return { path, seen: 0, accepted: this.accepted.get(path) ?? 0, children: undefined };
  }
}

/** The capabilities and headers part of a shape. */
function answerShape({ contentType, octoHeaders }: ShapeHeaders): Pick<CatalogShape, 'capabilities' | 'headers'> {
  const headers: string[] = [];
  if (contentType !== undefined) headers.push(`content-type: ${contentType.split(';')[0]!.trim().toLowerCase()}`);
  if (octoHeaders.contentLanguage !== undefined) headers.push('content-language');
  if (octoHeaders.availableLanguages !== undefined) headers.push('available-languages');
  if (octoHeaders.octoCapabilities !== undefined) headers.push('octo-capabilities');
  const capabilities = octoHeaders.octoCapabilities === undefined ? null : [...capabilityIds(octoHeaders.octoCapabilities)].sort();
  return { capabilities, headers: headers.sort() };
}

/** SHA-256 of the shape's canonical JSON: two runs of one shape compare by it. */
export function shapeHash(shape: CatalogShape): string {
  return sha256Hex(canonicalJson(shape));
}

/** What `after` adds, removes and retypes against `before`; null when they are the same. */
export function shapeDrift(before: CatalogShape, after: CatalogShape): ShapeDrift | null {
  const drift: ShapeDrift = { added: [], removed: [], retyped: [], capabilities: setDrift(before.capabilities ?? [], after.capabilities ?? []), headers: setDrift(before.headers, after.headers) };
  for (const [path, types] of Object.entries(after.paths)) {
    const was = before.paths[path];
    if (was === undefined) drift.added.push({ path, types });
    else if (was.join() !== types.join()) drift.retyped.push({ path, from: was, to: types });
  }
  for (const [path, types] of Object.entries(before.paths)) if (after.paths[path] === undefined) drift.removed.push({ path, types });
  for (const list of [drift.added, drift.removed, drift.retyped]) list.sort((x, y) => (x.path < y.path ? -1 : 1));
  const changed = drift.added.length + drift.removed.length + drift.retyped.length + drift.capabilities.added.length + drift.capabilities.removed.length;
  return changed + drift.headers.added.length + drift.headers.removed.length === 0 ? null : drift;
}

function setDrift(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[] } {
  return { added: after.filter((x) => !before.includes(x)), removed: before.filter((x) => !after.includes(x)) };
}
