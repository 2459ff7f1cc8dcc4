import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { signingSecretOf } from '@octo-sync/platform';
import { generateCatalog, waitFor } from '@octo-sync/testkit';
import { AUTH_KEY, startHarness, type Harness } from './harness';

/** A partner's alert receiver on loopback: answers with the queued statuses, then 204. */
interface Receiver {
  url: string;
  hostPort: string;
  received: Array<{ headers: IncomingHttpHeaders; body: string }>;
  answers: number[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const answers: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answers.shift() ?? 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/octo-alerts`,
    hostPort: `127.0.0.1:${port}`,
    received,
    answers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What a partner does with a delivery: verify it with the reference library, then read it. */
function verified(secret: string, delivery: { headers: IncomingHttpHeaders; body: string }): { type: string; data: Record<string, unknown> } {
  const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(delivery.headers[name])]));
  return new Webhook(signingSecretOf(secret)).verify(delivery.body, headers) as { type: string; data: Record<string, unknown> };
}

describe('partner alerts', () => {
  let h: Harness;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    h = await startHarness({ OCTO_ALLOWED_HOSTS: receiver.hostPort, ALERTS_RETRY_BASE_MS: '20', ALERTS_RETRY_MAX_MS: '100' });
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.answers.length = 0;
  });

  async function integrationWithAlerts(alertsUrl: string): Promise<{ id: string; secret: string }> {
    const { integration, webhookSecret } = await h.db.integrations.create({
      partnerId: `partner-${Math.random().toString(36).slice(2)}`,
      baseUrl: h.supplier.url,
      authType: 'bearer',
      authKey: AUTH_KEY,
      handlesTicketDelivery: false,
      isApproved: true,
      alertsUrl,
    });
    return { id: integration.id, secret: webhookSecret };
  }

  const settled = (id: string, count: number) =>
    waitFor(`${count} settled alert(s)`, async () => {
      const { items } = await h.db.alerts.list(id, 1, 100);
      return items.length === count && items.every((a) => a.status !== 'pending') && items;
    });

  it('signs sync.failed so that a Standard Webhooks library verifies it, throttles a repeat, then sends sync.recovered', async () => {
    const { id, secret } = await integrationWithAlerts(receiver.url);
    h.supplier.setRawBody('this is not json', 'application/json');
    expect((await h.sync(id)).status).toBe('failed');
    const [failed] = await settled(id, 1);
    expect(failed).toMatchObject({ kind: 'sync.failed', status: 'delivered', attempts: 1, lastStatusCode: 204 });
    const alert = verified(secret, receiver.received[0]!);
    expect(alert.type).toBe('sync.failed');
    expect(alert.data).toMatchObject({ integration_id: id, error_code: 'CATALOG_NOT_JSON' });
    expect(typeof alert.data.message).toBe('string');
    expect(() => verified('00'.repeat(32), receiver.received[0]!)).toThrow();

    // A second failure within the throttle window raises no second sync.failed.
    expect((await h.sync(id)).status).toBe('failed');
    h.supplier.setCatalog(generateCatalog({ products: 3, options: 1, units: 1, seed: 17 }));
    expect((await h.sync(id)).status).toBe('succeeded');
    const alerts = await settled(id, 2);
    expect(alerts.map((a) => a.kind).sort()).toEqual(['sync.failed', 'sync.recovered']);
    expect(verified(secret, receiver.received[1]!).type).toBe('sync.recovered');
  });

  it('retries a delivery the receiver answered 500, under the same webhook-id', async () => {
    const { id, secret } = await integrationWithAlerts(receiver.url);
    receiver.answers.push(500);
    h.supplier.setRawBody('[', 'application/json');
    expect((await h.sync(id)).status).toBe('failed');
    const [alert] = await settled(id, 1);
    expect(alert).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 204 });
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.headers['webhook-id']).toBe(receiver.received[0]!.headers['webhook-id']);
    expect(verified(secret, receiver.received[1]!).type).toBe('sync.failed');
  });

  it('refuses an alerts_url at a private address the deployment did not allow, without retrying', async () => {
    const { id } = await integrationWithAlerts(`http://10.255.255.1:${new URL(receiver.url).port}/octo-alerts`);
    h.supplier.setRawBody('nope', 'application/json');
    expect((await h.sync(id)).status).toBe('failed');
    const [alert] = await settled(id, 1);
    expect(alert).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: null });
    expect(alert!.lastError).toMatch(/^SUPPLIER_ADDRESS_BLOCKED/);
    expect(receiver.received).toHaveLength(0);
  });
});
