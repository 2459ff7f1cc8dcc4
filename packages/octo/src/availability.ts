import { isUtf8 } from 'node:buffer';
import { inexactNumbers, isStorableText, unstorableInput } from '@octo-sync/platform';
import { readCatalog } from './catalog-body';
import { SupplierError } from './errors';
import type { FetchOptions, SupplierTarget } from './outbound-config';
import { printableId } from './product-quarantine';
import { decodeEscapingInvalid, ESCAPED_BYTE } from './utf8';
import { exchange, type ExchangeDeps } from './supplier-exchange';

/** The body of one OCTO `POST /availability`: one option over a range of local dates. */
export interface AvailabilityQuery {
  productId: string;
  optionId: string;
  /** `YYYY-MM-DD` in the product's time zone, both included. */
  localDateStart: string;
  localDateEnd: string;
  /** ISO 4217: prices in this currency, for a supplier that sells in several (OCTO `octo/pricing`). */
  currency?: string;
}

/** One slot of an availability answer: the fields we index, and the object as sent. */
export interface OctoSlot {
  id: string;
  localDateTimeStart: string | null;
  status: string | null;
  vacancies: number | null;
  capacity: number | null;
  raw: Record<string, unknown>;
}

/**
 * A slot the answer lists but that cannot be taken as sent: its object holds numbers JavaScript
 * would change (`paths`, within the slot: `pricing.retail`) or text Postgres cannot store
 * (`unstorable`, as `"<path>: <reason>"` lines). It is neither stored nor closed.
 */
export interface HeldSlot {
  id: string;
  paths: string[];
  unstorable: string[];
}

/**
 * A `POST /availability` answer as received: its bytes and their digest, so that an answer the
 * same as the last one need not be parsed (see {@link parseAvailability}).
 */
export interface FetchedAvailability {
  body: Buffer;
  /** SHA-256 (hex) of `body`, hashed as it streamed in. */
  digest: string;
  bytes: number;
  /**
   * When the last byte arrived (epoch ms): the snapshot's place on the receive time line. Read
   * from the wall clock, as the gateways' receive keys are: a clock anchored at process start
   * would drift from theirs whenever the system clock is adjusted.
   */
  answeredAt: number;
  /** From sending the request to the last body byte, redirects included: the supplier's answer time alone. */
  latencyMs: number;
}

/** A parsed availability answer. */
export interface ParsedAvailability {
  slots: OctoSlot[];
  /** Listed slots whose raw could not be kept as sent (see {@link HeldSlot}). */
  held: HeldSlot[];
  /**
   * Slots left out because their id itself cannot be stored (NUL, an unpaired surrogate), each id
   * escaped as in JSON: no stored slot can carry such an id, so leaving them out closes none.
   */
  dropped: string[];
}

/**
 * `POST {baseUrl}/availability` (or `path`, such as `/availability/calendar`, which takes the same
 * body) under the outbound rules; the body is kept as received, unparsed.
 */
export async function fetchAvailability(deps: ExchangeDeps, target: SupplierTarget, query: AvailabilityQuery, options: FetchOptions = {}, path = '/availability'): Promise<FetchedAvailability> {
  const request = { path, method: 'POST' as const, body: JSON.stringify(query) };
  const fetched = await exchange(deps, target, options, (answer) => readCatalog(answer, deps.config.maxBodyBytes), request);
  const answeredAt = Date.now();
  return { body: fetched.body, digest: fetched.digest, bytes: fetched.bytes, answeredAt, latencyMs: fetched.latencyMs };
}

/**
 * Parses an availability answer (leniently, unknown fields kept): an array of objects with a string `id`. Suppliers differ in the rest
 * (FREESALE slots with null or huge numbers, SOLD_OUT with 0/0, extra fields): numbers that are
 * not non-negative integers in range are stored as null (unknown), and every field stays in `raw`.
 * `raw` is kept as sent: a slot holding a number that parsing would change (beyond a double's
 * range or precision) or text Postgres cannot store is held back, not taken changed; one whose id
 * cannot be stored is dropped.
 */
export function parseAvailability(body: Buffer): ParsedAvailability {
  // Bytes that are not UTF-8 are kept apart as unpaired surrogates, not decoded to U+FFFD: a slot
  // holding one is then held back (or dropped, in its id) like one holding a lone surrogate escape.
  const valid = isUtf8(body);
  const json = valid ? body.toString('utf8') : decodeEscapingInvalid(body);
  const slots = parseSlots(json);
  const held = new Map<number, HeldSlot>();
  const heldAt = (i: number): HeldSlot => held.get(i) ?? held.set(i, { id: slots[i]!.id, paths: [], unstorable: [] }).get(i)!;
  // Every inexact number, not the first 50: a slot past them would be stored changed.
  for (const [index, ...path] of inexactNumbers(json, Infinity)) {
    if (typeof index === 'number') heldAt(index).paths.push(path.join('.'));
  }
  const dropped = new Set<number>();
  for (const [i, problems] of unstorableText(json, slots, valid)) {
    if (isStorableText(slots[i]!.id)) heldAt(i).unstorable = problems;
    else dropped.add(i);
  }
  if (held.size === 0 && dropped.size === 0) return { slots, held: [], dropped: [] };
  return {
    slots: slots.filter((_, i) => !held.has(i) && !dropped.has(i)),
    held: [...held].filter(([i]) => !dropped.has(i)).sort(([a], [b]) => a - b).map(([, slot]) => slot),
    dropped: [...dropped].map((i) => printableId(slots[i]!.id)),
  };
}

/** Each slot's text Postgres cannot store (`"<path>: <reason>"` lines), by the slot's index. `validUtf8`: the body held no bad byte. */
function unstorableText(json: string, slots: readonly OctoSlot[], validUtf8: boolean): Map<number, string[]> {
  const found = new Map<number, string[]>();
  // Only a \u escape or a bad byte (decodeEscapingInvalid) puts NUL or an unpaired surrogate in
  // parsed text (a raw control character fails JSON.parse): most answers skip the walk.
  if (validUtf8 && !json.includes('\\u')) return found;
  const reasonOf = (text: string) => (!validUtf8 && ESCAPED_BYTE.test(text) ? 'holds bytes that are not valid UTF-8' : undefined);
  slots.forEach((slot, i) => {
    const problems = unstorableInput(slot.raw, 'slot', Infinity, reasonOf);
    if (problems.length > 0) found.set(i, problems);
  });
  return found;
}

function parseSlots(body: string): OctoSlot[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error: unknown) {
    throw new SupplierError('AVAILABILITY_INVALID', 'supplier answered POST /availability with a body that is not JSON', { cause: error });
  }
  if (!Array.isArray(json)) throw new SupplierError('AVAILABILITY_INVALID', 'supplier answered POST /availability with JSON that is not an array');
  return json.map((entry: unknown, index) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || typeof (entry as { id?: unknown }).id !== 'string') {
      throw new SupplierError('AVAILABILITY_INVALID', `availability [${index}] is not an object with a string id`);
    }
    const raw = entry as Record<string, unknown>;
    return { id: raw.id as string, localDateTimeStart: text(raw.localDateTimeStart), status: text(raw.status), vacancies: count(raw.vacancies), capacity: count(raw.capacity), raw };
  });
}

const MAX_COUNT = 2_147_483_647;

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_COUNT ? value : null;
}
