import { StringDecoder } from 'node:string_decoder';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Pool } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { isUuid } from '../uuid';
import { NEWEST_POSITION } from './change-sequencer';

// The newest position the feed ever had, as the export's one statement sees it.
const POSITION = `SELECT ${NEWEST_POSITION}::text AS position`;

/**
 * One COPY statement, so one snapshot for the position and every row (docs/architecture.md, "The
 * snapshot export and where it resumes"): one line per live product, option and unit and per
 * stored slot, each tagged with the position, and one `snapshot` line. Postgres may run the
 * branches in parallel and interleave them, hence the tag on every line rather than a header.
 * Every line that names a product carries its stable `key`, as the feed's events do (a slot's is
 * null when its product is not stored); option and unit lines add their own (`optionKey`, `unitKey`).
 * `scope` is a SQL condition on an integration id column, built from a checked uuid only.
 */
function exportSql(scope: (column: string) => string): string {
  const line = (fields: string) => `json_build_object('position', p.position, ${fields})::text`;
  return `COPY (
WITH p AS (${POSITION})
SELECT ${line(`'kind', 'snapshot'`)} FROM p
UNION ALL
SELECT ${line(`'kind', 'product', 'integration_id', t.integration_id, 'productId', t.octo_id, 'key', t.key, 'content_hash', t.content_hash`)}
FROM p, products t WHERE t.active AND ${scope('t.integration_id')}
UNION ALL
SELECT ${line(`'kind', 'option', 'integration_id', pr.integration_id, 'productId', pr.octo_id, 'optionId', t.octo_id, 'key', pr.key, 'optionKey', t.key,
  'content_hash', t.content_hash`)}
FROM p, product_options t JOIN products pr ON pr.id = t.product_id WHERE t.active AND pr.active AND ${scope('pr.integration_id')}
UNION ALL
SELECT ${line(`'kind', 'unit', 'integration_id', pr.integration_id, 'productId', pr.octo_id, 'optionId', o.octo_id, 'unitId', t.octo_id, 'key', pr.key,
  'optionKey', o.key, 'unitKey', t.key, 'content_hash', t.content_hash`)}
FROM p, units t JOIN product_options o ON o.id = t.option_id JOIN products pr ON pr.id = o.product_id
WHERE t.active AND o.active AND pr.active AND ${scope('pr.integration_id')}
UNION ALL
SELECT ${line(`'kind', 'slot', 'integration_id', t.integration_id, 'productId', t.product_octo_id, 'optionId', t.option_octo_id,
  'availabilityId', t.availability_id, 'localDateTimeStart', t.local_date_time_start, 'status', t.status, 'vacancies', t.vacancies,
  'capacity', t.capacity, 'key', pr.key, 'content_hash', t.content_hash`)}
FROM p, availability_slots t LEFT JOIN products pr ON pr.integration_id = t.integration_id AND pr.octo_id = t.product_octo_id
WHERE ${scope('t.integration_id')}
) TO STDOUT`;
}

/**
 * The current catalog and slot state of one integration (or of all), as NDJSON: every line is a
 * JSON object with `kind` (`snapshot`, `product`, `option`, `unit`, `slot`) and `position`, the
 * change-feed position to resume from with `after`: every change not in the export comes after it;
 * the last line is `{"kind":"end","lines":N}`.
 * Streamed from one COPY on a connection of its own (released when the stream ends or is
 * destroyed), so an export of any size holds neither memory nor a transaction open beyond its
 * one statement.
 */
export async function exportSnapshot(pool: Pool, integrationId: string | null): Promise<Readable> {
  if (integrationId !== null && !isUuid(integrationId)) throw new Error('exportSnapshot: integration id must be a uuid');
  const scope = (column: string) => (integrationId === null ? 'true' : `${column} = '${integrationId}'::uuid`);
  const client = await pool.connect();
  const copy = client.query(copyTo(exportSql(scope)));
  const lines = copy.pipe(new CopyTextLines());
  let released = false;
  const release = (err?: Error) => {
    if (released) return;
    released = true;
    client.release(err);
  };
  copy.on('error', (err) => {
    lines.destroy(err);
    release(err);
  });
  copy.on('end', () => release());
  lines.on('close', () => {
    // A reader that went away: the COPY is ended with the connection, which is not reused.
    if (!released) release(new Error('snapshot export abandoned'));
  });
  return lines;
}

/**
 * COPY's text format doubles each backslash of a value (and escapes control characters, which
 * JSON text never has): undone line by line, so each output chunk is whole lines of JSON; an
 * `end` line with the count of lines before it closes a complete export.
 */
class CopyTextLines extends Transform {
  private rest = '';
  private lines = 0;
  private readonly decoder = new StringDecoder('utf8');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const text = this.rest + this.decoder.write(chunk);
    const end = text.lastIndexOf('\n') + 1;
    this.rest = text.slice(end);
    for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) this.lines++;
    done(null, end === 0 ? undefined : text.slice(0, end).replace(/\\\\/g, '\\'));
  }

  override _flush(done: TransformCallback): void {
    const text = this.rest + this.decoder.end();
    if (text !== '') this.lines++;
    done(null, `${text.replace(/\\\\/g, '\\')}${text === '' || text.endsWith('\n') ? '' : '\n'}{"kind":"end","lines":${this.lines}}\n`);
  }
}
