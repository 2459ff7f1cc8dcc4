import { asError } from '@octo-sync/platform';

/*
 * Memory admission for catalog bodies: a worker holds at most `budget` bytes of them at once,
 * across all its concurrent runs (WORKER_MAX_INFLIGHT_BYTES), so raising WORKER_CONCURRENCY
 * cannot make it run out of memory on large suppliers.
 *
 * A run takes a lease before it sends its request (waiting here holds no connection, to the
 * supplier or to Postgres, and spends no attempt), sizes it to the declared Content-Length as
 * soon as the headers arrive, or grows it with the bytes of a body sent without one, and returns
 * it when its write ends. Growing never waits: two runs that each wait for the other's bytes
 * would wait forever. When the budget has no room, the read stops at once and the run asks again
 * for what it now knows it needs, in line with everyone else, then fetches again. A lease is
 * never larger than the whole budget, and a lease of the whole budget grows without limit: a
 * body larger than the budget still runs, alone.
 */

/** What a run reserves before it knows its body's size: most catalogs are smaller. */
const OPENING_RESERVATION = 1024 * 1024;

/** A share of the budget, held by one run. */
export interface BodyLease {
  /** Bytes held. */
  readonly bytes: number;
  /**
   * Sets the lease to `bytes` (at most the whole budget). Shrinking always succeeds; growing
   * succeeds only when the budget has room now (it never waits): false otherwise, lease unchanged.
   */
  resize(bytes: number): boolean;
  /** Returns every byte held to the budget; later calls do nothing. */
  release(): void;
}

interface Waiter {
  bytes: number;
  grant: (lease: BodyLease) => void;
}

/** The byte budget of one worker process, shared by its catalog runs; waiters are served in order. */
export class MemoryAdmission {
  private used = 0;
  private readonly waiting: Waiter[] = [];

  constructor(readonly budget: number) {}

  /** Bytes held by leases now. */
  get inUse(): number {
    return this.used;
  }

  /**
   * A lease of `bytes` (at most the whole budget), once it fits and everyone who asked before has
   * theirs. Rejects with the signal's reason if `signal` aborts first.
   */
  acquire(bytes: number, signal?: AbortSignal): Promise<BodyLease> {
    if (signal?.aborted === true) return Promise.reject(asError(signal.reason));
    const wanted = Math.min(Math.max(0, Math.ceil(bytes)), this.budget);
    if (this.waiting.length === 0 && this.used + wanted <= this.budget) return Promise.resolve(this.lease(wanted));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(asError(signal?.reason));
        // The head of the line may have been the one in the way.
        this.serve();
      };
      const waiter: Waiter = {
        bytes: wanted,
        grant: (lease) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private lease(initial: number): BodyLease {
    this.used += initial;
    let held = initial;
    let released = false;
    return {
      get bytes() {
        return held;
      },
      resize: (bytes) => {
        if (released) return false;
        const target = Math.min(Math.max(0, Math.ceil(bytes)), this.budget);
        if (target > held && this.used - held + target > this.budget) return false;
        this.used += target - held;
        held = target;
        this.serve();
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.used -= held;
        held = 0;
        this.serve();
      },
    };
  }

  /** Grants the waiters at the head of the line while they fit (in order: a large one is never overtaken for ever). */
  private serve(): void {
    for (let head = this.waiting[0]; head !== undefined && this.used + head.bytes <= this.budget; head = this.waiting[0]) {
      this.waiting.shift();
      head.grant(this.lease(head.bytes));
    }
  }
}

/** Thrown by the progress hook to stop a read the budget has no room for. */
class NoRoom extends Error {
  constructor(readonly needed: number) {
    super(`no room in the catalog memory budget for ${needed} bytes`);
  }
}

/** The body progress hook of one read: keeps `lease` at the body's size, or stops the read. */
type ProgressHook = (received: number, expected: number | null) => void;

function sizingHook(lease: BodyLease): ProgressHook {
  return (received, expected) => {
    const needed = Math.max(received, expected ?? 0);
    // A declared length sets the lease (it may shrink); without one it only grows.
    if ((expected !== null || needed > lease.bytes) && !lease.resize(needed)) throw new NoRoom(expected ?? Math.max(2 * received, OPENING_RESERVATION));
  };
}

/**
 * Reads a body under the budget: `read` must call the hook it is given as its bytes arrive and
 * reject with the hook's error when the hook throws. Resolves with the body and its lease (sized
 * to the body), which the caller releases when it no longer holds the body.
 */
export async function readAdmitted<T extends { bytes: number }>(
  admission: MemoryAdmission,
  read: (hook: ProgressHook) => Promise<T>,
  signal: AbortSignal | undefined,
  onWait: (needed: number) => void,
): Promise<{ body: T; lease: BodyLease }> {
  let wanted = OPENING_RESERVATION;
  for (;;) {
    const lease = await admission.acquire(wanted, signal);
    try {
      const body = await read(sizingHook(lease));
      lease.resize(body.bytes);
      return { body, lease };
    } catch (error) {
      lease.release();
      if (!(error instanceof NoRoom)) throw error;
      wanted = error.needed;
      onWait(wanted);
    }
  }
}
