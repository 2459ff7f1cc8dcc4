import { randomBytes } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Integration ids are UUIDs; anything else cannot exist (and must not reach a uuid column). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** The 12-bit counter's largest value; a fresh millisecond seeds it at most half of that, so it has room to count. */
const COUNTER_MAX = 0xfff;
const COUNTER_SEED_MAX = 0x7ff;

let lastMs = 0;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562, UUID version 7): 48 bits of Unix milliseconds, version 7, a 12-bit counter (`rand_a`,
 * RFC 9562's fixed-length dedicated counter: seeded at random each millisecond, then counted) and 62 random bits. Ids made by
 * this process sort (as strings, bytes and Postgres `uuid`) in the order they were made, also
 * within one millisecond and if the clock steps back; ids of append-mostly tables are made here
 * so that their inserts land at the right edge of the primary key's btree (a random uuid's spread
 * over the whole index, each dirtying a page of its own). `now`: for tests.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = randomBytes(2).readUInt16BE(0) & COUNTER_SEED_MAX;
  } else if (counter < COUNTER_MAX) {
    counter += 1;
  } else {
    // The counter is spent: borrow the next millisecond (RFC 9562's monotonicity rules allow it) and count on.
    lastMs += 1;
    counter = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
