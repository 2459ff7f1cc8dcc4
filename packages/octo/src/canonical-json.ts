import { hash as oneShotHash, type Hash } from 'node:crypto';

// Feeding a Hash one token at a time costs a native call each; batch into ~64 KiB pieces.
const FLUSH_AT = 64 * 1024;
// Containers this close to the root are streamed piece by piece; deeper values (one product,
// one option) are small and are built as one string, which is much faster than token writes.
const STREAM_DEPTH = 2;
/**
 * Deepest nesting the canonicaliser accepts: containers more than this many levels below the value
 * it is given make it throw (parsed JSON is never circular, but this deep it would overflow the stack).
 */
export const CANONICAL_MAX_DEPTH = 2000;

class HashSink {
  private pending = '';
  constructor(private readonly hash: Hash) {}
  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= FLUSH_AT) this.flush();
  }
  flush(): void {
    if (this.pending !== '') this.hash.update(this.pending, 'utf8');
    this.pending = '';
  }
}

/** Keys quoted so far: catalogs repeat a few dozen keys in every object, and quoting one is a native call. */
const quotedKeys = new Map<string, string>();
/** Past this many distinct keys (a catalog of arbitrary keys), the rest are quoted every time. */
const QUOTED_KEYS_MAX = 10_000;

/** `JSON.stringify(key)`, remembered. */
function quoted(key: string): string {
  let text = quotedKeys.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (quotedKeys.size < QUOTED_KEYS_MAX) quotedKeys.set(key, text);
  }
  return text;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'undefined';
  return typeof value;
}

/** JSONPath-ish location for error messages, built only when something is wrong. */
function where(stack: readonly (string | number)[]): string {
  return stack.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('') || '(root)';
}

function unrepresentable(value: unknown, stack: readonly (string | number)[]): TypeError {
  return new TypeError(`canonical JSON: ${where(stack)} is ${describe(value)}, which JSON cannot represent`);
}

function tooDeep(stack: readonly (string | number)[]): TypeError {
  return new TypeError(`canonical JSON: ${where(stack.slice(0, 8))}... nests deeper than ${CANONICAL_MAX_DEPTH} levels (circular?)`);
}

/** Canonical text of a scalar, or undefined for arrays and objects. */
function scalar(value: unknown, stack: readonly (string | number)[]): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw unrepresentable(value, stack);
      // ECMAScript number serialisation, as RFC 8785 prescribes; JSON.stringify(-0) is "0".
      return JSON.stringify(value);
    case 'object':
      return undefined;
    default:
      throw unrepresentable(value, stack);
  }
}

function build(value: unknown, stack: (string | number)[]): string {
  const text = scalar(value, stack);
  if (text !== undefined) return text;
  if (stack.length > CANONICAL_MAX_DEPTH) throw tooDeep(stack);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      stack.push(i);
      // Like JSON.stringify: holes and undefined in arrays become null.
      out += (i === 0 ? '' : ',') + build(item === undefined ? null : item, stack);
      stack.pop();
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units: RFC 8785 sorts keys by exactly that.
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue; // as JSON.stringify does; parsed JSON never has these
    stack.push(key);
    out += `${first ? '' : ','}${quoted(key)}:${build(item, stack)}`;
    stack.pop();
    first = false;
  }
  return `${out}}`;
}

function stream(value: unknown, sink: HashSink, stack: (string | number)[]): void {
  if (stack.length >= STREAM_DEPTH || value === null || typeof value !== 'object') {
    sink.write(build(value, stack));
    return;
  }
  if (Array.isArray(value)) {
    sink.write('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) sink.write(',');
      const item: unknown = value[i];
      stack.push(i);
      stream(item === undefined ? null : item, sink, stack);
      stack.pop();
    }
    sink.write(']');
    return;
  }
  const record = value as Record<string, unknown>;
  let first = true;
  sink.write('{');
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined) continue;
    sink.write(`${first ? '' : ','}${quoted(key)}:`);
    first = false;
    stack.push(key);
    stream(item, sink, stack);
    stack.pop();
  }
  sink.write('}');
}

/**
 * RFC 8785-style canonical JSON: object keys sorted by UTF-16 code units, no whitespace, strings
 * and numbers as `JSON.stringify` writes them. Throws a TypeError on non-finite numbers,
 * undefined at the top level, functions, symbols, bigints and cycles.
 */
export function canonicalJson(value: unknown): string {
  return build(value, []);
}

/**
 * Feed the canonical JSON of `value` into `hash` piece by piece, never building the whole text,
 * so a 100 MB catalog is hashed in bounded extra memory. Returns the same hash for chaining.
 */
export function updateCanonical(hash: Hash, value: unknown): Hash {
  const sink = new HashSink(hash);
  stream(value, sink, []);
  sink.flush();
  return hash;
}

/** SHA-256 (lowercase hex) of the canonical JSON of `value`. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(build(value, []));
}

/** SHA-256 (lowercase hex) of a text's UTF-8 bytes, in one native call. */
export function sha256Hex(text: string): string {
  return oneShotHash('sha256', text, 'hex');
}

/**
 * The canonical JSON of an object seen two ways at once, so that a parent and its children are
 * serialised once for both the per-row hashes and the whole-catalog hash:
 * `own` is the object without `key` (a row's own content), and `withChild(text)` is the whole
 * object with `text` (the already canonical JSON of the value under `key`) in its sorted place.
 * When `key` is absent (or undefined), `withChild` ignores its argument and returns `own`.
 */
export interface CanonicalSplit {
  own: string;
  withChild(childText: string): string;
}

export function canonicalSplit(record: Record<string, unknown>, key: string): CanonicalSplit {
  const stack: (string | number)[] = [];
  let before = '';
  let after = '';
  let seen = false;
  for (const k of Object.keys(record).sort()) {
    const item = record[k];
    if (item === undefined) continue;
    if (k === key) {
      seen = true;
      continue;
    }
    stack.push(k);
    const entry = `${quoted(k)}:${build(item, stack)}`;
    stack.pop();
    if (seen) after += after === '' ? entry : `,${entry}`;
    else before += before === '' ? entry : `,${entry}`;
  }
  const own = `{${before}${before !== '' && after !== '' ? ',' : ''}${after}}`;
  if (!seen) return { own, withChild: () => own };
  const name = quoted(key);
  return {
    own,
    withChild: (childText) => `{${before}${before === '' ? '' : ','}${name}:${childText}${after === '' ? '' : ','}${after}}`,
  };
}
