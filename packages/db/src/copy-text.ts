import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** Lines encoded between two turns of the event loop. */
const LINES_PER_TURN = 500;

/**
 * Streams `lines` (COPY text format, each ending in a newline) into `COPY … FROM STDIN` statement
 * `sql`, encoded a few hundred at a time between turns of the event loop: a slice of tens of
 * thousands of rows never blocks it for long.
 */
export async function copyText(client: PoolClient, sql: string, lines: Iterable<string>): Promise<void> {
  await pipeline(Readable.from(inTurns(lines)), client.query(copyFrom(sql)));
}

async function* inTurns(lines: Iterable<string>): AsyncGenerator<string> {
  let chunk = '';
  let count = 0;
  for (const line of lines) {
    chunk += line;
    if (++count < LINES_PER_TURN) continue;
    yield chunk;
    chunk = '';
    count = 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (chunk !== '') yield chunk;
}

// COPY text format: backslash, tab, newline and carriage return escaped; NULL is \N.
const SPECIAL = /[\\\t\n\r]/;

/** One COPY text field. */
export function copyField(value: string | null): string {
  if (value === null) return '\\N';
  return SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : value;
}
