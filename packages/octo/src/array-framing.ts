// Bytes the array framing looks at (plain constants: this loop runs over every byte of the body).
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** JSON's own whitespace (space, tab, LF, CR): the only bytes JSON.parse skips between tokens. */
function isJsonSpace(byte: number | undefined): boolean {
  return byte === SPACE || byte === LF || byte === CR || byte === TAB;
}

/**
 * The byte ranges of the elements of a top-level JSON array, as `[start0, end0, start1, end1, …]`
 * (each range may carry JSON whitespace around the value), found in one pass over the bytes that
 * tracks nesting and string/escape state. A leading UTF-8 BOM and whitespace around the array are
 * allowed. Returns undefined when the bytes are not framed as one array (another top-level value,
 * truncated, mismatched brackets, something after the array): only the framing is checked here,
 * each element still has to pass JSON.parse, and `[` + elements joined by `,` + `]` is then
 * valid JSON exactly when every element is.
 */
export function scanArrayElements(bytes: Buffer): number[] | undefined {
  const n = bytes.length;
  let i = n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < n && isJsonSpace(bytes[i])) i++;
  if (bytes[i] !== OPEN_BRACKET) return undefined;
  const bounds: number[] = [];
  let start = ++i;
  let depth = 1;
  while (i < n) {
    const c = bytes[i]!;
    if (c === QUOTE) {
      // Skip the string: jump from quote to quote (memchr, much faster than a JS loop over its
      // bytes); a quote preceded by an odd run of backslashes is escaped and does not end it.
      let q = i;
      for (;;) {
        q = bytes.indexOf(QUOTE, q + 1);
        if (q < 0) return undefined;
        let b = q - 1;
        while (bytes[b] === BACKSLASH) b--;
        if (((q - 1 - b) & 1) === 0) break;
      }
      i = q;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      depth++;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      if (--depth === 0) {
        if (c !== CLOSE_BRACKET) return undefined;
        bounds.push(start, i);
        break;
      }
    } else if (c === COMMA && depth === 1) {
      bounds.push(start, i);
      start = i + 1;
    }
    i++;
  }
  if (depth !== 0) return undefined;
  for (i++; i < n; i++) if (!isJsonSpace(bytes[i])) return undefined;
  // `[ ]` is the empty array, not one blank element (a blank element anywhere else fails JSON.parse).
  if (bounds.length === 2) {
    let blank = true;
    for (let k = bounds[0]!; k < bounds[1]! && blank; k++) blank = isJsonSpace(bytes[k]);
    if (blank) bounds.length = 0;
  }
  return bounds;
}
