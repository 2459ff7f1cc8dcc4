import { createSupplierClient, type SupplierClient, type SupplierTarget } from '@octo-sync/octo';
import { startTestSupplier, waitFor, type TestSupplier } from '@octo-sync/testkit';
import { MemoryAdmission, readAdmitted } from '../src/catalog/memory-admission';

// The budget against the real outbound client and a real local supplier: what the hook refuses
// stops the read at the headers, and the run reads again once it has its turn.

const MiB = 1024 * 1024;
let supplier: TestSupplier;
let client: SupplierClient;
let target: SupplierTarget;

beforeEach(async () => {
  supplier = await startTestSupplier();
  client = createSupplierClient({
    allowedHosts: [supplier.hostPort],
    allowInsecureHttp: true,
    capabilities: 'octo/pricing',
    userAgent: 'octo-sync-test',
    connectTimeoutMs: 10_000,
    headersTimeoutMs: 30_000,
    stallTimeoutMs: 30_000,
    totalTimeoutMs: 60_000,
    maxBodyBytes: 64 * MiB,
    maxRedirects: 0,
  });
  target = { baseUrl: supplier.url, authType: 'bearer', authKey: 'k' };
});

afterEach(async () => {
  await client.close();
  await supplier.close();
});

function fetchUnder(admission: MemoryAdmission, waits: number[] = []) {
  return readAdmitted(admission, (hook) => client.fetchProducts(target, { onBodyProgress: hook }), undefined, (needed) => waits.push(needed));
}

it('drops a declared body the budget has no room for before reading it, and fetches it again once there is room', async () => {
  // Large enough that the socket buffers cannot take it all: the supplier sees the client leave.
  const admission = new MemoryAdmission(32 * MiB);
  const blocker = await admission.acquire(16 * MiB);
  supplier.behave({ kind: 'oversized', bytes: 24 * MiB, withContentLength: true, times: 2 });
  const waits: number[] = [];
  let done = false;
  const reading = fetchUnder(admission, waits).finally(() => (done = true));

  await waitFor('the first answer to close', () => supplier.requests[0]?.completed !== undefined);
  expect(supplier.requests[0]!.completed).toBe(false);
  expect(supplier.requests[0]!.bytesSent!).toBeLessThan(24 * MiB);
  expect(waits).toEqual([24 * MiB]);
  expect(done).toBe(false);
  expect(supplier.requests).toHaveLength(1); // waiting sends nothing
  expect(admission.inUse).toBe(16 * MiB);

  blocker.release();
  const { body, lease } = await reading;
  expect(body.bytes).toBe(24 * MiB);
  expect(lease.bytes).toBe(24 * MiB);
  expect(supplier.requests).toHaveLength(2);
  lease.release();
  expect(admission.inUse).toBe(0);
});

it('lets a body without a declared length that outgrows the whole budget run alone', async () => {
  const admission = new MemoryAdmission(4 * MiB);
  supplier.behave({ kind: 'oversized', bytes: 6 * MiB, withContentLength: false, times: 1 });
  const { body, lease } = await fetchUnder(admission);
  expect(body.bytes).toBe(6 * MiB);
  expect(lease.bytes).toBe(4 * MiB);
  expect(supplier.requests).toHaveLength(1);
  let second = false;
  const next = admission.acquire(1).then((l) => {
    second = true;
    return l;
  });
  await new Promise((resolve) => setImmediate(resolve));
  expect(second).toBe(false);
  lease.release();
  (await next).release();
  expect(admission.inUse).toBe(0);
});
