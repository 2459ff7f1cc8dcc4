import { isUtf8 } from 'node:buffer';
import { isStorableText } from '@octo-sync/platform';
import { CANONICAL_MAX_DEPTH } from './canonical-json';
import { decodeEscapingInvalid, ESCAPED_BYTE } from './utf8';
import type { OctoProduct, ProductQuarantine } from './catalog';

/** Per-product limits of what a sync stores; a product past one is quarantined. */
export interface ProductLimits {
  /** Largest product, in bytes as sent (its options and units included). */
  maxProductBytes: number;
  /** Longest string (a value or a field name), in UTF-8 bytes. */
  maxStringBytes: number;
}

/**
 * Why a structurally sound product (its bytes `bytes`, at index `p`) cannot be stored as sent, or
 * undefined when it can: invalid UTF-8, a NUL character or unpaired surrogate, a string or the
 * product past its {@link ProductLimits}, a number JSON.parse turned into Infinity, or nesting more
 * than {@link CANONICAL_MAX_DEPTH} levels below the product (which the canonical hash refuses).
 * `validUtf8`: the whole body is known to be valid UTF-8, so this product's bytes need no check.
 */
export function unstorable(product: OctoProduct, bytes: Buffer, p: number, limits: ProductLimits, validUtf8: boolean): ProductQuarantine | undefined {
  const { maxProductBytes, maxStringBytes } = limits;
  if (bytes.length > maxProductBytes) {
    return { productId: product.id, path: `[${p}]`, reason: `the product is ${bytes.length} bytes, over the limit of ${maxProductBytes} bytes per product` };
  }
  // Only a \u escape can put a NUL or a lone surrogate in a parsed string (a raw control byte
  // fails JSON.parse, and the UTF-8 decoder never yields a surrogate): most products skip both checks.
  const escaped = bytes.includes('\\u');
  const stack: Array<string | number> = [];
  const reason = findUnstorable(product, stack, (text) => stringDefect(text, maxStringBytes, escaped));
  if (reason !== undefined) {
    // An id Postgres cannot store matches no stored product: like a missing id, it may be any of them.
    const unusableId = stack.length === 1 && stack[0] === 'id' && !isStorableText(product.id);
    return { productId: unusableId ? undefined : product.id, path: pathOf(p, stack), reason };
  }
  if (validUtf8 || isUtf8(bytes)) return undefined;
  const at = invalidUtf8Path(bytes);
  const path = at === undefined ? `[${p}]` : pathOf(p, at);
  // Bad bytes in the id itself: the decoded id is not the one the supplier meant.
  const productId = at?.length === 1 && at[0] === 'id' ? undefined : product.id;
  return { productId, path, reason: 'the string contains bytes that are not valid UTF-8' };
}

/** What is wrong with one string (a value or a field name) for storage, or undefined. */
type StringCheck = (text: string) => string | undefined;

function stringDefect(text: string, maxBytes: number, escaped: boolean): string | undefined {
  if (escaped && text.includes('\u0000')) return 'contains a NUL character (U+0000), which Postgres cannot store';
  if (escaped && !text.isWellFormed()) return 'contains an unpaired UTF-16 surrogate, which is not Unicode text';
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: most strings need no byte count.
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) return `is ${bytes} bytes long, over the limit of ${maxBytes} bytes per string`;
  }
  return undefined;
}

/**
 * Walks `value` depth first and returns why the first unstorable part cannot be stored, leaving its
 * location in `stack` (keys and indexes below `value`); undefined when everything can be stored.
 */
function findUnstorable(value: unknown, stack: Array<string | number>, check: StringCheck): string | undefined {
  if (typeof value === 'string') {
    const defect = check(value);
    return defect === undefined ? undefined : `the string ${defect}`;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'the number is too large to represent (it parses as Infinity)';
  if (value === null || typeof value !== 'object') return undefined;
  // The canonicaliser's own test, applied to the product as the mapper hands it over.
  if (stack.length > CANONICAL_MAX_DEPTH) return `the value nests deeper than ${CANONICAL_MAX_DEPTH} levels below the product`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      stack.push(i);
      const reason = findUnstorable(value[i], stack, check);
      if (reason !== undefined) return reason;
      stack.pop();
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    stack.push(key);
    const defect = check(key);
    if (defect !== undefined) return `the field name ${defect}`;
    const reason = findUnstorable(record[key], stack, check);
    if (reason !== undefined) return reason;
    stack.pop();
  }
  return undefined;
}

/**
 * Where a product's invalid UTF-8 sits: the product decoded with each bad byte kept apart as an
 * unpaired surrogate (decodeEscapingInvalid), and the first string holding one, in the order the
 * checks walk, looked up. Invalid bytes can only be inside strings of a product that parsed, and an unpaired
 * surrogate from an escape was refused before this runs, so what it finds is a bad byte.
 */
function invalidUtf8Path(bytes: Buffer): Array<string | number> | undefined {
  const stack: Array<string | number> = [];
  const found = findUnstorable(JSON.parse(decodeEscapingInvalid(bytes)), stack, (s) => (ESCAPED_BYTE.test(s) ? 'escaped' : undefined));
  return found === undefined ? undefined : stack;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `[p].options[0].title`; other field names JSON-quoted (`["a b"]`); at most 200 characters. */
function pathOf(p: number, stack: ReadonlyArray<string | number>): string {
  let path = `[${p}]`;
  for (const part of stack) {
    if (path.length > 200) break;
    if (typeof part === 'number') path += `[${part}]`;
    else path += IDENTIFIER.test(part) && part.length <= 80 ? `.${part}` : `[${JSON.stringify(shorten(part, 80))}]`;
  }
  return shorten(path, 200);
}

/** At most `max` characters, never cut between the two halves of a surrogate pair. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = /[\ud800-\udbff]/.test(text.charAt(max - 4)) ? max - 4 : max - 3;
  return `${text.slice(0, cut)}...`;
}

/**
 * A supplier's id as text that is safe to show and to store: escaped as in JSON when it holds
 * what Postgres cannot store (NUL, unpaired surrogates), shortened to 80 characters.
 */
export function printableId(id: string): string {
  return shorten(id.includes('\u0000') || !id.isWellFormed() ? JSON.stringify(id).slice(1, -1) : id, 80);
}
