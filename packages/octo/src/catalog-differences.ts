import { canonicalJson } from './canonical-json';

/*
 * Where two fetches of one catalog differ, as JSON paths a supplier's engineer can look up: a
 * timestamp inside the catalog, or arrays whose order changes from one answer to the next.
 */

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function short(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Elements keyed by their string `id` when every element has a distinct one. */
function byId(list: unknown[]): Map<string, number> | undefined {
  const ids = new Map<string, number>();
  for (const [i, item] of list.entries()) {
    if (!isRecord(item) || typeof item.id !== 'string' || ids.has(item.id)) return undefined;
    ids.set(item.id, i);
  }
  return ids;
}

class Differences {
  readonly paths: string[] = [];
  constructor(private readonly max: number) {}

  get full(): boolean {
    return this.paths.length >= this.max;
  }

  add(path: string, what: string): void {
    if (!this.full) this.paths.push(`${path === '' ? '(root)' : path}: ${what}`);
  }

  compare(a: unknown, b: unknown, path: string): void {
    if (this.full) return;
    if (Array.isArray(a) && Array.isArray(b)) this.arrays(a, b, path);
    else if (isRecord(a) && isRecord(b)) this.records(a, b, path);
    else if (canonicalJson(a) !== canonicalJson(b)) this.add(path, `${short(a)}, then ${short(b)}`);
  }

  private records(a: Record<string, unknown>, b: Record<string, unknown>, path: string): void {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const child = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
      if (!(key in a) || !(key in b)) this.add(child, 'present in one fetch only');
      else this.compare(a[key], b[key], child);
    }
  }

  private arrays(a: unknown[], b: unknown[], path: string): void {
    const textA = a.map((item) => canonicalJson(item));
    const textB = b.map((item) => canonicalJson(item));
    if (textA.every((t, i) => t === textB[i]) && a.length === b.length) return;
    if (a.length === b.length && [...textA].sort().join('\n') === [...textB].sort().join('\n')) {
      this.add(path, 'the same elements in another order (order carries no meaning here: keep it fixed)');
      return;
    }
    const idsA = byId(a);
    const idsB = byId(b);
    if (idsA !== undefined && idsB !== undefined) {
      for (const [id, i] of idsA) {
        const j = idsB.get(id);
        if (j === undefined) this.add(`${path}[${i}]`, `id ${JSON.stringify(id)} present in the first fetch only`);
        else this.compare(a[i], b[j], `${path}[${i}]`);
      }
      for (const [id, j] of idsB) if (!idsA.has(id)) this.add(`${path}[${j}]`, `id ${JSON.stringify(id)} present in the second fetch only`);
      return;
    }
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length || i >= b.length) this.add(`${path}[${i}]`, 'present in one fetch only');
      else this.compare(a[i], b[i], `${path}[${i}]`);
    }
  }
}

/** Up to `max` paths where `b` differs from `a`, e.g. `[3].updatedAt: "10:00:01", then "10:00:02"`. */
export function catalogDifferences(a: unknown, b: unknown, max: number): string[] {
  const differences = new Differences(max);
  differences.compare(a, b, '');
  return differences.paths;
}
