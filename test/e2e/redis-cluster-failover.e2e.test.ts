import { slotStart, startRedisCluster, startStack, waitFor, type ServiceProcess, type TestRedisCluster, type TestStack } from '@octo-sync/testkit';

/** Every key of the availability queue hashes to this tag's slot. */
const QUEUE_KEY = '{octo-sync:availability}';
const CLIENTS = 24;
const KILLS = 3;
/** Acknowledged notifies to see before a kill, and again after a replica took over. */
const ACKS = 50;

/**
 * The gateway on a Redis Cluster with a replica per master while the master serving the
 * availability queue is SIGKILLed under notify load, three times over (each killed master comes
 * back as a replica of the one that took its slots): every notify is answered 2xx, or 503 while
 * the slot has no master, and the gateway process never dies.
 */
describe('a Redis Cluster failover under notify load', () => {
  let cluster: TestRedisCluster;
  let stack: TestStack;
  let gateway: ServiceProcess;
  let notifyUrl: string;
  let secret: string;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 2_000 });
    // No worker: each notify waits 1 ms for its job, so every call both enqueues and then asks
    // whether its job finished, which is where a failing-over master used to kill the gateway.
    stack = await startStack('e2e-failover', { redisCluster: cluster, env: { NOTIFY_WAIT_MS: '1', NOTIFY_RATE_LIMIT: '100000000' } });
    const { integration, webhookSecret } = await stack.db.integrations.create({ partnerId: 'failover', baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true });
    const product = await stack.db.prisma.product.create({ data: { integrationId: integration.id, octoId: 'p', raw: {}, contentHash: 'x' } });
    await stack.db.prisma.productOption.create({ data: { productId: product.id, octoId: 'DEFAULT', raw: {}, contentHash: 'x' } });
    secret = webhookSecret;
    gateway = await stack.start('gateway');
    notifyUrl = `${await stack.gatewayUrl(gateway)}/api/v1/partner-integrations/${integration.id}/availability/notify`;
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  /** A status, or -1 when the gateway did not answer at all. */
  async function notify(availabilityId: string): Promise<number> {
    const body = JSON.stringify({ productId: 'p', optionId: 'DEFAULT', availabilityId, localDateTimeStart: slotStart(30, '10:00', '+02:00'), status: 'AVAILABLE', vacancies: 5, capacity: 9 });
    try {
      const res = await fetch(notifyUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': secret }, body });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return -1;
    }
  }

  /** `step`, unless the gateway exits first: then a failure that shows its stderr. */
  function unlessGatewayDies<T>(what: string, step: Promise<T>): Promise<T> {
    const died = gateway.exited.then(({ code, signal }) => {
      throw new Error(`the gateway exited (code ${code}, signal ${signal}) while waiting for ${what}: ${gateway.stderrTail()}`);
    });
    return Promise.race([step, died]);
  }
  const until = (what: string, check: () => Promise<boolean> | boolean) => unlessGatewayDies(what, waitFor(what, check, { timeoutMs: 60_000, intervalMs: 50 }));

  it('answers every notify 2xx or 503 and keeps running', async () => {
    const statuses: number[] = [];
    let stopped = false;
    const clients = Array.from({ length: CLIENTS }, async (_, n) => {
      for (let i = 0; !stopped; i++) statuses.push(await notify(`c${n}-${i}`));
    });
    const acknowledgedSince = (from: number) => statuses.slice(from).filter((s) => s >= 200 && s < 300).length;
    try {
      for (let kill = 1; kill <= KILLS; kill++) {
        const before = statuses.length;
        await until(`notifies acknowledged before kill ${kill}`, () => acknowledgedSince(before) >= ACKS);
        const killed = await cluster.masterOf(QUEUE_KEY);
        cluster.processOf(killed).kill('SIGKILL');
        await until(`a replica to take over from ${killed}`, async () => (await cluster.masterOf(QUEUE_KEY)) !== killed);
        const failedOver = statuses.length;
        await until(`notifies acknowledged again after kill ${kill}`, () => acknowledgedSince(failedOver) >= ACKS);
        await unlessGatewayDies(`${killed} to rejoin as a replica`, cluster.restart(killed));
      }
    } finally {
      stopped = true;
      await Promise.all(clients);
    }
    expect({ exitCode: gateway.child.exitCode, signal: gateway.child.signalCode }).toEqual({ exitCode: null, signal: null });
    const counts: Record<string, number> = {};
    for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
    expect(Object.keys(counts).filter((status) => !['200', '202', '503'].includes(status))).toEqual([]);
    expect(counts['202']).toBeGreaterThan(0);
  }, 300_000);
});
