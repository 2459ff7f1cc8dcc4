import { hash } from 'node:crypto';

/** What a staged row's digest covers after its kind, in this order: its identity, then its hashes. */
type DigestFields = [productOctoId: string, optionOctoId: string | null, octoId: string | null, contentHash: string | null, rawHash: string | null, treeHash: string | null];

/** The lane's columns of {@link DigestFields}, in the same order. */
const COLUMNS = ['product_octo_id', 'option_octo_id', 'octo_id', 'content_hash', 'raw_hash', 'tree_hash'];

/*
 * A row's digest is the first 60 bits of the md5 of its kind and fields, each field written as
 * its UTF-8 length, a colon and its text, or `N` for NULL: any text may be in a partner's id, and
 * a length prefix keeps every field's bounds (and NULL apart from ''), where no separator could.
 * Both sides hash the logical values (the lane's, not the COPY lines'), as UTF-8 bytes (the
 * database's encoding). The run's digest is their sum, so the order the rows are read in is moot.
 */

/** The lane's digest of the rows it reads (their sum as text, '0' for none), the same {@link StageTally} keeps. */
export const STAGED_DIGEST = `COALESCE(sum(('x' || left(md5(kind || ${COLUMNS.map((c) => `COALESCE(octet_length(${c}) || ':' || ${c}, 'N')`).join(' || ')}), 15))::bit(60)::bigint), 0)::text`;

const field = (value: string | null) => (value === null ? 'N' : `${Buffer.byteLength(value)}:${value}`);

/** How many rows a run COPY'd into its lane, and their digest: folded in as each row's COPY line is encoded. */
export class StageTally {
  count = 0;
  digest = 0n;

  /** Folds in one staged row of `kind` (`catalog_stage.kind`). */
  add(kind: string, ...fields: DigestFields): void {
    this.count += 1;
    this.digest += BigInt(`0x${hash('md5', kind + fields.map(field).join('')).slice(0, 15)}`);
  }
}
