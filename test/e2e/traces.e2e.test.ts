import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, generateCatalog, slotStart, startStack, waitFor, type TestStack } from '@octo-sync/testkit';

/**
 * One trace from a partner's call to the rows it writes: the gateway and a worker run as real
 * processes (the bundles production runs, so the instrumentations must hook the libraries as
 * the bundles load them) and export over OTLP/HTTP to a receiver in this test, every trace
 * sampled. For a sync trigger and for a notify, the chain is followed parent by parent: the
 * gateway's HTTP server span → its enqueue (BullMQ's producer span, whose context the job
 * carries) → the worker's job span → the supplier call (undici) and the Postgres statements (pg).
 * No exported span carries a query string, an outgoing call's path or a job's result, a caller's
 * `traceparent` decides for its request, and a collector that is down does not fail a stop.
 */

const BASE = '/api/v1/partner-integrations';

interface ReceivedSpan {
  service: string;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | undefined>;
  events: Array<{ name: string; attributes: Record<string, string | number | undefined> }>;
}

/** OTLP span kinds (the JSON encoding's numbers). */
const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: Array<{ scope?: { name?: string }; spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpAttribute[]; events?: Array<{ name: string; attributes?: OtlpAttribute[] }> }> }>;
  }>;
}

const attributesOf = (list: OtlpAttribute[] = []): ReceivedSpan['attributes'] => Object.fromEntries(list.map((a) => [a.key, a.value.stringValue ?? a.value.intValue]));

/** A pg span's statement (the attribute's name depends on the semantic conventions version). */
const statementOf = (span: ReceivedSpan) => String(span.attributes['db.query.text'] ?? span.attributes['db.statement'] ?? '');

/** An OTLP/HTTP (JSON) traces receiver that keeps every span it is sent. */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; server: Server }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest;
      for (const resource of body.resourceSpans ?? []) {
        const service = String(attributesOf(resource.resource?.attributes)['service.name']);
        for (const scope of resource.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({ service, scope: scope.scope?.name ?? '', traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? '', name: span.name, kind: span.kind, attributes: attributesOf(span.attributes), events: (span.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })) });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

/** The spans from `span` up to its trace's root, nearest first (the chain breaks where a parent was not received). */
function ancestry(spans: readonly ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const chain = [span];
  for (let parent = byId.get(span.parentSpanId); parent !== undefined; parent = byId.get(parent.parentSpanId)) chain.push(parent);
  return chain;
}

/** How a chain reads in a failure message: `service kind name`, leaf first. */
const describeChain = (chain: readonly ReceivedSpan[]) => chain.map((s) => `${s.service} ${s.kind} ${s.name}`);

describe('traces from a partner call to its rows', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let stack: TestStack;
  let url: string;
  let id: string;
  let secret: string;
  const catalog = generateCatalog({ products: 2, options: 1, units: 1, seed: 25 });

  beforeAll(async () => {
    receiver = await startReceiver();
    // Every trace recorded (the default records one in ten), and spans sent within 100 ms.
    stack = await startStack('e2e-traces', { catalog, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: '1', OTEL_BSP_SCHEDULE_DELAY: '100' } });
    const [gateway] = await Promise.all([stack.start('gateway'), stack.start('worker')]);
    url = await stack.gatewayUrl(gateway);
    const created = await stack.db.integrations.create({
      partnerId: 'traces-partner', baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    id = created.integration.id;
    secret = created.webhookSecret;
  });
  afterAll(async () => {
    await stack.close();
    receiver.server.close();
  });

  /** The gateway's server span of the request to `path`, once it has been received. */
  const serverSpan = (path: string) =>
    waitFor(`the gateway's span of ${path}`, () => receiver.spans.find((s) => s.service === 'octo-sync-gateway' && s.kind === KIND.server && s.attributes['url.path'] === path));

  /** Waits for a span of the trace that `match` picks, and returns it with its ancestry. */
  const chainTo = async (traceId: string, what: string, match: (span: ReceivedSpan) => boolean) =>
    ancestry(receiver.spans, await waitFor(what, () => receiver.spans.find((s) => s.traceId === traceId && match(s))));

  /** Asserts that `chain` (leaf first) climbs through the worker's job span and the gateway's enqueue to `root`. */
  function expectJobChain(chain: readonly ReceivedSpan[], root: ReceivedSpan, queue: string): void {
    const summary = describeChain(chain);
    const job = chain.findIndex((s) => s.service === 'octo-sync-worker' && s.kind === KIND.consumer && s.name === `process ${queue}`);
    expect({ summary, job: job >= 0 }).toEqual({ summary, job: true });
    // The job span's parent is the gateway's enqueue, carried in the job; the enqueue is inside the request.
    const enqueue = chain[job + 1];
    expect({ summary, enqueue: enqueue && { service: enqueue.service, kind: enqueue.kind, scope: enqueue.scope } }).toEqual({ summary, enqueue: { service: 'octo-sync-gateway', kind: KIND.producer, scope: 'bullmq' } });
    expect(chain.at(-1)).toBe(root);
    expect(root.parentSpanId).toBe('');
  }

  it('a sync trigger: request → enqueue → catalog job → supplier call (undici) and its Postgres statements (pg)', async () => {
    const path = `${BASE}/${id}/sync/trigger`;
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'x-webhook-secret': secret } });
    expect(await res.json()).toMatchObject({ success: 1, data: { synced: 2 } });
    const root = await serverSpan(path);
    const supplierCall = await chainTo(root.traceId, 'the worker\'s supplier call in the trigger\'s trace', (s) => s.service === 'octo-sync-worker' && s.kind === KIND.client && s.scope.includes('undici'));
    expectJobChain(supplierCall, root, 'catalog');
    // Where the call went, not its path or query (a supplier's or a partner's URL may carry a key).
    expect(supplierCall[0]!.attributes['url.full']).toBe(new URL(stack.supplier.url).origin);
    expect(Object.keys(supplierCall[0]!.attributes).filter((key) => key === 'url.path' || key === 'url.query')).toEqual([]);
    const write = await chainTo(root.traceId, 'an INSERT of the worker in the trigger\'s trace', (s) => s.service === 'octo-sync-worker' && s.scope.includes('pg') && /INSERT/i.test(statementOf(s)));
    expectJobChain(write, root, 'catalog');
    // No span per Express middleware: between the server span and the enqueue, only request handlers.
    const gatewaySpans = receiver.spans.filter((s) => s.traceId === root.traceId && s.service === 'octo-sync-gateway' && s.scope.includes('express'));
    expect(gatewaySpans.map((s) => s.attributes['express.type'])).not.toContain('middleware');
    expect(gatewaySpans.map((s) => s.attributes['express.type'])).not.toContain('router');
  });

  it('a notify: request → enqueue → availability job → the slot upsert (pg)', async () => {
    const path = `${BASE}/${id}/availability/notify`;
    const product = catalog[0]!;
    const start = slotStart(30, '10:00', '+01:00');
    const body = { productId: product.id, optionId: product.options[0]!.id, availabilityId: start, localDateTimeStart: start, status: 'AVAILABLE', vacancies: 3, capacity: 5 };
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': secret }, body: JSON.stringify(body) });
    expect(await res.json()).toEqual({ success: 1, data: { updated: true } });
    const root = await serverSpan(path);
    const upsert = await chainTo(root.traceId, 'the slot upsert in the notify\'s trace', (s) => s.service === 'octo-sync-worker' && s.scope.includes('pg') && /availability_slots/.test(statementOf(s)));
    expectJobChain(upsert, root, 'availability');
  });

  it('starts no trace for what no request or job began (polling, heartbeats), nor for probes', async () => {
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    // A traced request after the probe: once its span is here, a probe span sent before it would be too.
    const path = `${BASE}/${id}/sync/trigger`;
    const triggers = () => receiver.spans.filter((s) => s.kind === KIND.server && s.attributes['url.path'] === path).length;
    const before = triggers();
    await fetch(`${url}${path}`, { method: 'POST', headers: { 'x-webhook-secret': secret, prefer: 'respond-async' } });
    await waitFor('the span of a trigger sent after the probe', () => triggers() > before);
    expect(receiver.spans.filter((s) => s.attributes['url.path'] === '/readyz')).toEqual([]);
    // The gateway's queue event reader (opened by the first request that waited for a job) reads
    // for as long as it lives: none of its reads belongs to that request's trace.
    expect(receiver.spans.filter((s) => s.name === 'xread').map((s) => s.traceId)).toEqual([]);
    // Every trace received begins with work coming in: a request, or a job added or taken.
    const roots = receiver.spans.filter((s) => s.parentSpanId === '');
    expect(roots.length).toBeGreaterThan(0);
    expect(roots.filter((s) => !([KIND.server, KIND.producer, KIND.consumer] as number[]).includes(s.kind)).map((s) => `${s.service} ${s.kind} ${s.name}`)).toEqual([]);
  });

  it('exports no query string and no job result', async () => {
    const path = `${BASE}/${id}/products`;
    await fetch(`${url}${path}?q=secret-in-the-query`, { headers: { 'x-webhook-secret': secret } });
    const request = await serverSpan(path);
    expect(request.attributes['url.query']).toBeUndefined();
    // BullMQ records each job's completion on its span; the result it carries stays in the worker.
    const completed = await waitFor('a job span with its completion event', () => receiver.spans.find((s) => s.events.some((e) => e.name === 'job completed')));
    expect(completed.events.find((e) => e.name === 'job completed')?.attributes).not.toHaveProperty('bullmq.job.result');
    expect(receiver.spans.flatMap((s) => s.events).filter((e) => 'bullmq.job.result' in e.attributes)).toEqual([]);
    expect(JSON.stringify(receiver.spans)).not.toContain('secret-in-the-query');
  });

  it('follows a caller\'s traceparent: its unsampled request is not recorded, its sampled one is', async () => {
    // Every trace that begins here is recorded (ratio 1): only the caller's decision drops one.
    const path = `${BASE}/${id}/products`;
    const ask = (traceId: string, flags: string) => fetch(`${url}${path}`, { headers: { 'x-webhook-secret': secret, traceparent: `00-${traceId}-b7ad6b7169203331-${flags}` } });
    await ask('0af7651916cd43dd8448eb211c800000', '00');
    await ask('0af7651916cd43dd8448eb211c800001', '01');
    const sampled = await waitFor('the sampled caller\'s request', () => receiver.spans.find((s) => s.traceId === '0af7651916cd43dd8448eb211c800001' && s.kind === KIND.server));
    expect(sampled.parentSpanId).toBe('b7ad6b7169203331');
    // Sent after the unsampled one ended: had that one been recorded, it would be here by now.
    expect(receiver.spans.filter((s) => s.traceId === '0af7651916cd43dd8448eb211c800000')).toEqual([]);
  });

  it('stops with exit code 0 when the collector is down, saying that the last spans were lost', async () => {
    // Nothing listens on the port; spans wait in the buffer until the stop flushes them.
    const down = `http://127.0.0.1:${await freePort()}`;
    const gateway = await stack.start('gateway', { OTEL_EXPORTER_OTLP_ENDPOINT: down, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    await fetch(`${await stack.gatewayUrl(gateway)}${BASE}/${id}/products`, { headers: { 'x-webhook-secret': secret } });
    gateway.kill('SIGTERM');
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    expect(gateway.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([]);
    expect(gateway.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toContain('tracing: the last spans were not sent in time (is the collector down?); stopping without them');
  });
});
