import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** Streams `text` (COPY text format) into `COPY … FROM STDIN` statement `sql`. */
export async function copyText(client: PoolClient, sql: string, text: string): Promise<void> {
  await pipeline(Readable.from([text]), client.query(copyFrom(sql)));
}

// COPY text format: backslash, tab, newline and carriage return escaped; NULL is \N.
const SPECIAL = /[\\\t\n\r]/;

/** One COPY text field. */
export function copyField(value: string | null): string {
  if (value === null) return '\\N';
  return SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : value;
}
