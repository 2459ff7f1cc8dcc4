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
 * allowed. The result is undefined when the bytes are not framed as one array (another top-level
 * value, truncated, mismatched brackets, something after the array): only the framing is checked
 * here, each element still has to pass JSON.parse, and `[` + elements joined by `,` + `]` is then
 * valid JSON exactly when every element is.
 *
 * The scan can be done in steps ({@link step}), so that a large body never blocks the event loop
 * for long.
 */
export class ArrayFramer {
  private readonly bounds: number[] = [];
  private i: number;
  private start: number;
  private depth = 1;
  private state: 'scanning' | 'framed' | 'refused' = 'scanning';

  constructor(private readonly bytes: Buffer) {
    const n = bytes.length;
    let i = n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    while (i < n && isJsonSpace(bytes[i])) i++;
    if (bytes[i] !== OPEN_BRACKET) this.state = 'refused';
    this.i = i + 1;
    this.start = i + 1;
  }

  /** Scans about `budget` more bytes (a string is always skipped whole); true once the scan is over. */
  step(budget: number): boolean {
    if (this.state !== 'scanning') return true;
    const { bytes } = this;
    const stop = Math.min(bytes.length, this.i + budget);
    let { i, depth } = this;
    while (i < stop) {
      const c = bytes[i]!;
      if (c === QUOTE) {
        i = closingQuote(bytes, i);
        if (i < 0) return this.end('refused');
      } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
        depth++;
      } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
        if (--depth === 0) {
          this.i = i;
          return this.close(c);
        }
      } else if (c === COMMA && depth === 1) {
        this.bounds.push(this.start, i);
        this.start = i + 1;
      }
      i++;
    }
    this.i = i;
    this.depth = depth;
    return i >= bytes.length ? this.end('refused') : false;
  }

  /** The element ranges once {@link step} returned true; undefined when the bytes are not one array. */
  result(): number[] | undefined {
    return this.state === 'framed' ? this.bounds : undefined;
  }

  /** The array's closing bracket is at `this.i`: only whitespace may follow it. */
  private close(c: number): boolean {
    const { bytes, bounds } = this;
    if (c !== CLOSE_BRACKET) return this.end('refused');
    bounds.push(this.start, this.i);
    for (let k = this.i + 1; k < bytes.length; k++) if (!isJsonSpace(bytes[k])) return this.end('refused');
    // `[ ]` is the empty array, not one blank element (a blank element anywhere else fails JSON.parse).
    if (bounds.length === 2) {
      let blank = true;
      for (let k = bounds[0]!; k < bounds[1]! && blank; k++) blank = isJsonSpace(bytes[k]);
      if (blank) bounds.length = 0;
    }
    return this.end('framed');
  }

  private end(state: 'framed' | 'refused'): true {
    this.state = state;
    return true;
  }
}

/**
 * The index of the quote that closes the string opened at `open`, or -1: jumps from quote to
 * quote (memchr, much faster than a JS loop over its bytes); a quote preceded by an odd run of
 * backslashes is escaped and does not end it.
 */
function closingQuote(bytes: Buffer, open: number): number {
  let q = open;
  for (;;) {
    q = bytes.indexOf(QUOTE, q + 1);
    if (q < 0) return -1;
    let b = q - 1;
    while (bytes[b] === BACKSLASH) b--;
    if (((q - 1 - b) & 1) === 0) return q;
  }
}

/** {@link ArrayFramer} in one go. */
export function scanArrayElements(bytes: Buffer): number[] | undefined {
  const framer = new ArrayFramer(bytes);
  framer.step(Infinity);
  return framer.result();
}
