/*
 * JSON numbers that JavaScript cannot keep. `JSON.parse` turns every number into a double:
 * `1e400` becomes Infinity (stored as null), `1e-400` becomes 0, and `12345678901234567890` or
 * `0.30000000000000000001` quietly become a neighbouring value. What we store and hash is what
 * `JSON.stringify` prints back, so a number is kept exactly only if that prints the same decimal
 * value as the sender wrote (`1.50` and `1.5e0` do; `0.1000000000000000055511151231257827` does not).
 */

/** One path segment: an object key or an array index. */
export type JsonPathSegment = string | number;

/** Paths listed at most per text by default (a hostile request body could hold thousands). */
const MAX_PATHS = 50;

/** String literals (skipped whole: digits inside them are text) and number literals. */
const STRING_OR_NUMBER = /"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** Every token that moves the position in the document (whitespace is skipped between matches). */
const TOKEN = /"[^"\\]*(?:\\.[^"\\]*)*"|[{}[\],:]|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/g;

/** Integers of at most 15 digits: every double prints them back as written (the common case). */
const SHORT_INTEGER = /^-?\d{1,15}$/;

const LITERAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** A decimal literal's value in one spelling: `<sign><digits without leading or trailing zeros>e<exponent>`. */
function decimalValue(literal: string): string | undefined {
  const parts = LITERAL.exec(literal);
  if (!parts) return undefined;
  const [, sign, whole, fraction = '', exponent = '0'] = parts as unknown as [string, string, string, string | undefined, string | undefined];
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return '0';
  const significant = digits.replace(/0+$/, '');
  return `${sign}${significant}e${BigInt(exponent) - BigInt(fraction.length) + BigInt(digits.length - significant.length)}`;
}

/** Whether the double `JSON.parse` makes of this literal prints back to the same decimal value. */
export function keepsExactly(literal: string): boolean {
  if (SHORT_INTEGER.test(literal)) return true;
  const value = Number(literal);
  return Number.isFinite(value) && decimalValue(literal) === decimalValue(String(value));
}

/** The path of each number literal starting at one of `offsets` (ascending), by walking the document's structure. */
function pathsAt(text: string, offsets: readonly number[]): JsonPathSegment[][] {
  type Frame = { object: boolean; key: JsonPathSegment; expectKey: boolean };
  const stack: Frame[] = [];
  const paths: JsonPathSegment[][] = [];
  for (const match of text.matchAll(TOKEN)) {
    const token = match[0];
    const top = stack.at(-1);
    if (token === '{' || token === '[') stack.push({ object: token === '{', key: token === '{' ? '' : 0, expectKey: token === '{' });
    else if (token === '}' || token === ']') stack.pop();
    else if (token === ',' && top) {
      if (top.object) top.expectKey = true;
      else top.key = (top.key as number) + 1;
    } else if (token.startsWith('"') && top?.object && top.expectKey) {
      top.key = JSON.parse(token) as string;
      top.expectKey = false;
    } else if (match.index === offsets[paths.length]) {
      paths.push(stack.map((frame) => frame.key));
      if (paths.length === offsets.length) break;
    }
  }
  return paths;
}

/**
 * The paths (keys and indices from the top) of the number literals of a JSON text that
 * `JSON.parse` would not keep exactly (see {@link keepsExactly}), in document order, at most
 * `limit` (50 by default: enough to name a request's problems; a caller that must find every
 * such number, as a pull holding back each slot that has one, passes `Infinity`).
 * Call it on text that parsed: it reads literals, not grammar. Costs one regular-expression scan;
 * the structure is walked only when a number is inexact.
 */
export function inexactNumbers(text: string, limit = MAX_PATHS): JsonPathSegment[][] {
  const offsets: number[] = [];
  for (const match of text.matchAll(STRING_OR_NUMBER)) {
    if (match[0].startsWith('"') || keepsExactly(match[0])) continue;
    offsets.push(match.index);
    if (offsets.length >= limit) break;
  }
  return offsets.length === 0 ? [] : pathsAt(text, offsets);
}
