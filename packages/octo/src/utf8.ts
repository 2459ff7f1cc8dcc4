import { isUtf8 } from 'node:buffer';

/** Offset of the first byte at or after `from` that does not start a valid UTF-8 sequence; `bytes.length` if none. */
function firstInvalidUtf8(bytes: Buffer, from = 0): number {
  let i = from;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    const size = lead < 0x80 ? 1 : lead < 0xc2 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf5 ? 4 : 0;
    if (size === 0 || (size > 1 && !isUtf8(bytes.subarray(i, i + size)))) return i;
    i += size;
  }
  return i;
}

/** The unpaired surrogates {@link decodeEscapingInvalid} writes for the bytes that are not UTF-8. */
export const ESCAPED_BYTE = /[\udc80-\udcff]/;

/**
 * `bytes` as text, each byte that does not start a valid UTF-8 sequence written as the unpaired
 * surrogate U+DC00 + byte (as Python's `surrogateescape` does), where a decoder would write U+FFFD:
 * the text then says where the bad bytes were, and the storable-text check refuses what holds one.
 */
export function decodeEscapingInvalid(bytes: Buffer): string {
  let text = '';
  let start = 0;
  for (let bad = firstInvalidUtf8(bytes); bad < bytes.length; bad = firstInvalidUtf8(bytes, start)) {
    text += bytes.toString('utf8', start, bad) + String.fromCharCode(0xdc00 + bytes[bad]!);
    start = bad + 1;
  }
  return text + bytes.toString('utf8', start);
}
