import { MemoryAdmission, readAdmitted, type BodyLease } from './memory-admission';

const MiB = 1024 * 1024;

/** Whether a promise has settled, after letting every queued callback run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('MemoryAdmission', () => {
  it('grants what fits at once and makes the rest wait until bytes are returned', async () => {
    const admission = new MemoryAdmission(10 * MiB);
    const a = await admission.acquire(6 * MiB);
    const b = admission.acquire(6 * MiB);
    expect(await settled(b)).toBe(false);
    expect(admission.inUse).toBe(6 * MiB);
    a.release();
    a.release(); // a second release returns nothing twice
    expect((await b).bytes).toBe(6 * MiB);
    expect(admission.inUse).toBe(6 * MiB);
  });

  it('serves waiters in order: a small request never overtakes a large one waiting before it', async () => {
    const admission = new MemoryAdmission(10 * MiB);
    const first = await admission.acquire(4 * MiB);
    const large = admission.acquire(8 * MiB);
    const small = admission.acquire(1 * MiB);
    expect(await settled(large)).toBe(false);
    expect(await settled(small)).toBe(false); // it would fit, but the large one asked first
    first.release();
    const [l, s] = await Promise.all([large, small]);
    expect(l.bytes + s.bytes).toBe(9 * MiB);
  });

  it('gives a request larger than the budget the whole budget, alone, and lets it grow past it', async () => {
    const admission = new MemoryAdmission(10 * MiB);
    const other = await admission.acquire(1 * MiB);
    const huge = admission.acquire(50 * MiB);
    expect(await settled(huge)).toBe(false);
    other.release();
    const lease = await huge;
    expect(lease.bytes).toBe(10 * MiB);
    expect(lease.resize(80 * MiB)).toBe(true);
    expect(admission.inUse).toBe(10 * MiB);
    const next = admission.acquire(1);
    expect(await settled(next)).toBe(false);
    lease.release();
    expect((await next).bytes).toBe(1);
  });

  it('grows a lease only when the budget has room now, and a shrink lets waiters in', async () => {
    const admission = new MemoryAdmission(10 * MiB);
    const a = await admission.acquire(4 * MiB);
    const b = await admission.acquire(4 * MiB);
    expect(a.resize(6 * MiB)).toBe(true);
    expect(b.resize(5 * MiB)).toBe(false);
    expect(b.bytes).toBe(4 * MiB);
    const waiting = admission.acquire(3 * MiB);
    expect(await settled(waiting)).toBe(false);
    expect(a.resize(3 * MiB)).toBe(true);
    expect((await waiting).bytes).toBe(3 * MiB);
    expect(admission.inUse).toBe(10 * MiB);
  });

  it('drops a waiter whose signal aborts, and the line moves on', async () => {
    const admission = new MemoryAdmission(10 * MiB);
    const held = await admission.acquire(5 * MiB);
    const controller = new AbortController();
    const blocked = admission.acquire(8 * MiB, controller.signal);
    const behind = admission.acquire(5 * MiB);
    expect(await settled(behind)).toBe(false);
    controller.abort(new Error('shutting down'));
    await expect(blocked).rejects.toThrow('shutting down');
    expect((await behind).bytes).toBe(5 * MiB);
    held.release();
    await expect(admission.acquire(1, controller.signal)).rejects.toThrow('shutting down');
  });
});

/** A body read that reports `chunks` one by one through the hook, declaring `declared` (or not). */
function fakeRead(chunks: number[], declared: number | null, gate?: Promise<void>) {
  let reads = 0;
  const read = async (hook: (received: number, expected: number | null) => void) => {
    reads++;
    hook(0, declared);
    let received = 0;
    for (const chunk of chunks) {
      await gate;
      received += chunk;
      hook(received, declared);
    }
    return { bytes: received };
  };
  return { read, reads: () => reads };
}

describe('readAdmitted', () => {
  it('sizes the lease to the declared length, then to the body', async () => {
    const admission = new MemoryAdmission(100 * MiB);
    const { read } = fakeRead([3 * MiB, 2 * MiB], 5 * MiB);
    const { body, lease } = await readAdmitted(admission, read, undefined, () => undefined);
    expect(body.bytes).toBe(5 * MiB);
    expect(lease.bytes).toBe(5 * MiB);
    lease.release();
    expect(admission.inUse).toBe(0);
  });

  it('stops a read the budget has no room for, waits its turn for what it needs, and reads again', async () => {
    const admission = new MemoryAdmission(10 * MiB);
    const blocker = await admission.acquire(6 * MiB);
    const { read, reads } = fakeRead([8 * MiB], 8 * MiB);
    const waits: number[] = [];
    const result = readAdmitted(admission, read, undefined, (needed) => waits.push(needed));
    expect(await settled(result)).toBe(false);
    expect(waits).toEqual([8 * MiB]);
    expect(admission.inUse).toBe(6 * MiB); // the refused read holds nothing while it waits
    blocker.release();
    const { lease } = await result;
    expect(reads()).toBe(2);
    expect(lease.bytes).toBe(8 * MiB);
  });

  it('never deadlocks two bodies without a declared length that both outgrow half the budget', async () => {
    const admission = new MemoryAdmission(10 * MiB);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const chunks = [2 * MiB, 2 * MiB, 2 * MiB];
    const one = fakeRead(chunks, null, gate);
    const two = fakeRead(chunks, null, gate);
    const leases: BodyLease[] = [];
    const finish = async (reading: Promise<{ body: { bytes: number }; lease: BodyLease }>) => {
      const { body, lease } = await reading;
      leases.push(lease);
      expect(admission.inUse).toBeLessThanOrEqual(admission.budget);
      // The run's write ends: its bytes go back.
      lease.release();
      return body.bytes;
    };
    const both = Promise.all([finish(readAdmitted(admission, one.read, undefined, () => undefined)), finish(readAdmitted(admission, two.read, undefined, () => undefined))]);
    open();
    expect(await both).toEqual([6 * MiB, 6 * MiB]);
    expect(one.reads() + two.reads()).toBe(3); // one of them had to read again
    expect(leases).toHaveLength(2);
    expect(admission.inUse).toBe(0);
  });

  it('passes on a read failure and returns the bytes it held', async () => {
    const admission = new MemoryAdmission(10 * MiB);
    const failing = () => Promise.reject(new Error('supplier hung up'));
    await expect(readAdmitted(admission, failing, undefined, () => undefined)).rejects.toThrow('supplier hung up');
    expect(admission.inUse).toBe(0);
  });
});
