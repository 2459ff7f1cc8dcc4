import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { parse } from 'yaml';
import { catalogSyncJobId } from '@octo-sync/jobs';
import { freePort, generateCatalog, slotStart, startStack, STACK_JWT_SECRET, waitFor, type ServiceProcess, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';
const ROOT = join(__dirname, '../..');

/** `name{labels} value` lines of a Prometheus text exposition, keyed by name and labels. */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) map.set(match[1]!, Number(match[2]));
  }
  return map;
}

/** Every metric a registry declares (`# TYPE` lines: a labelled counter has no sample before its first event). */
function metricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name!}${suffix}`);
  }
  return names;
}

/** The metric names a PromQL expression reads (our own prefixes, and Prometheus's `up`). */
const usedMetrics = (expr: string) => [...expr.matchAll(/\b(octo_sync_\w+|gateway_\w+|worker_\w+|up)\b/g)].map((m) => m[1]!);

/**
 * What an operator relies on, through the real gateway and worker processes: request ids from the
 * gateway to the worker's log lines and the run, the worker's metrics, and the alert rules and
 * Grafana dashboard shipped in deploy/ reading only metrics the processes expose.
 */
describe('operations end to end (gateway + worker processes)', () => {
  let stack: TestStack;
  let url: string;
  let gateway: ServiceProcess;
  let worker: ServiceProcess;
  let metricsUrl: string;
  const admin = `Bearer ${jwt.sign({ role: 'admin' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'ops', expiresIn: '1h' })}`;

  async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
    const res = await fetch(`${url}${path}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as { data: Record<string, unknown> & { runs?: Array<Record<string, unknown>> } } };
  }

  beforeAll(async () => {
    stack = await startStack('e2e-ops', { catalog: generateCatalog({ products: 3 }) });
    const port = await freePort();
    [gateway, worker] = await Promise.all([stack.start('gateway'), stack.start('worker', { METRICS_PORT: String(port), METRICS_SAMPLE_MS: '200' })]);
    url = await stack.gatewayUrl(gateway);
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    await waitFor('the gateway to be ready', async () => (await fetch(`${url}/readyz`)).status === 200);
  });
  afterAll(() => stack.close());

  test('a request id reaches the job, every worker line of it, and the run; coalesced requests are all recorded', async () => {
    const created = await call('POST', `${BASE}/admin/create`, { Authorization: admin }, { partner_id: 'p-ops', base_url: `${stack.supplier.url}/`, auth_type: 'bearer', auth_key: 'k-ops-1', handles_ticket_delivery: false, isApproved: false });
    const id = created.body.data._id as string;
    const secret = created.body.data.webhook_secret as string;
    expect((await call('POST', `${BASE}/admin/${id}/approve`, { Authorization: admin, 'x-request-id': 'ops-approve-1' })).status).toBe(200);
    const first = await waitFor('the first sync to succeed', async () => {
      const runs = (await call('GET', `${BASE}/${id}/sync-log`, { Authorization: admin })).body.data.runs ?? [];
      return runs.find((r) => r.status === 'succeeded');
    });
    expect(first.request_ids).toEqual(['ops-approve-1']);
    const jobId = catalogSyncJobId(first.run_id as string);
    await worker.waitForLog((line) => line.jobId === jobId && line.msg === 'catalog synced');
    const jobLines = worker.lines.filter((line) => line.jobId === jobId);
    expect(jobLines.length).toBeGreaterThanOrEqual(2);
    for (const line of jobLines) expect({ msg: line.msg, reqId: line.reqId }).toEqual({ msg: line.msg, reqId: 'ops-approve-1' });

    const ids = ['ops-hook-1', 'ops-hook-2', 'ops-hook-3'];
    const answers = await Promise.all(ids.map((reqId) => call('POST', `${BASE}/${id}/sync/trigger`, { 'x-webhook-secret': secret, 'x-request-id': reqId, Prefer: 'respond-async' })));
    const runs = (await call('GET', `${BASE}/${id}/sync-log?limit=10`, { Authorization: admin })).body.data.runs ?? [];
    answers.forEach((answer, i) => {
      const run = runs.find((r) => r.run_id === answer.body.data.run_id);
      expect(run?.request_ids).toContain(ids[i]);
    });
  });

  test('the worker serves its metrics; the alert rules and the dashboard read only metrics that exist', async () => {
    const scrape = async () => (await fetch(metricsUrl)).text();
    const text = await waitFor('the sampled gauges and a finished run', async () => {
      const body = await scrape();
      const s = samples(body);
      return (s.get('octo_sync_integrations{health="HEALTHY"}') ?? 0) >= 1 && (s.get('octo_sync_runs_total{trigger="admin",status="succeeded"}') ?? 0) >= 1 ? body : undefined;
    });
    const s = samples(text);
    expect(s.get('octo_sync_rows_written_total{table="products"}')).toBeGreaterThanOrEqual(3);
    expect(s.get('octo_sync_run_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(s.get('octo_sync_queue_jobs{queue="catalog",state="waiting"}')).toEqual(expect.any(Number));
    expect(s.get('worker_process_resident_memory_bytes')).toBeGreaterThan(0);

    const gatewayText = await (await fetch(`${url}/metrics`)).text();
    const exposed = new Set([...metricNames(text), ...metricNames(gatewayText), 'up']);
    const rules = parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(['OctoSyncIntegrationDown', 'OctoSyncRunFailureRatio', 'OctoSyncBacklogGrowing', 'OctoSyncNoWorker', 'OctoSyncRunsSlowerThanUsual', 'OctoSyncChangeFeedConsumerBehind', 'OctoSyncChangeFeedPartitionsRunningOut', 'OctoSyncSlotPartitionMissingForAcceptedStarts', 'OctoSyncSlotPartitionsRunningOut', 'OctoSyncFreshnessBehind', 'OctoSyncFreshnessBehindSlowTier']);
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards/octo-sync.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const exprs = [...alerts.map((a) => a.expr), ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))];
    for (const expr of exprs) {
      expect(usedMetrics(expr).length).toBeGreaterThan(0);
      for (const name of usedMetrics(expr)) expect({ name, exposed: exposed.has(name) }).toEqual({ name, exposed: true });
    }
  });

  test('slot changes are counted by result', async () => {
    const created = await call('POST', `${BASE}/admin/create`, { Authorization: admin }, { partner_id: 'p-ops-slots', base_url: `${stack.supplier.url}/`, auth_type: 'bearer', auth_key: 'k-ops-2', handles_ticket_delivery: false, isApproved: false });
    const id = created.body.data._id as string;
    await stack.db.integrations.setApproved(id, true);
    const change = { productId: 'prod-00001', optionId: 'DEFAULT', availabilityId: 'slot-1', localDateTimeStart: slotStart(30, '09:00', '+02:00'), status: 'AVAILABLE', vacancies: 3, capacity: 10, sequence: 5 };
    const answer = (await call('POST', `${BASE}/${id}/availability/notify`, { 'x-webhook-secret': created.body.data.webhook_secret as string }, change)).body.data;
    // Whatever the result (this integration has no catalog yet), it is the one counted.
    const result = ['updated', 'stale', 'full_sync_queued'].find((key) => key !== 'updated' ? answer[key] === true : answer.updated === true);
    expect(result).toBeDefined();
    await waitFor('the result in the counter', async () => samples(await (await fetch(metricsUrl)).text()).get(`octo_sync_availability_changes_total{result="${result!}"}`) === 1);
  });
});
