import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AdmissionObserver } from './admission';

/** The gateway's Prometheus metrics, in a registry of their own (tests build many apps). */
export interface GatewayMetrics {
  registry: Registry;
  /** Records one answer (called once per request by the app's request context). */
  observe(method: string, route: string, status: number, seconds: number): void;
  /** The availability backlog admission control read, and the writes it shed. */
  admission: AdmissionObserver;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
  const requests = new Counter({
    name: 'gateway_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route template, method and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25],
    registers: [registry],
  });
  // The labelled children, resolved once per label set (a bounded set: method x route template x
  // status) instead of prom-client hashing the label object on every answer.
  const series = new Map<string, { count: ReturnType<(typeof requests)['labels']>; time: ReturnType<(typeof duration)['labels']> }>();
  const seriesFor = (method: string, route: string, status: number) => {
    const key = `${method} ${route} ${status}`;
    let s = series.get(key);
    if (!s) {
      const labels = { method, route, status: String(status) };
      s = { count: requests.labels(labels), time: duration.labels(labels) };
      series.set(key, s);
    }
    return s;
  };
  const backlog = new Gauge({ name: 'octo_sync_availability_backlog_jobs', help: 'Jobs in the availability queue (waiting, prioritized, delayed), as last read by admission control.', registers: [registry] });
  const pullBacklog = new Gauge({ name: 'octo_sync_pull_backlog_jobs', help: 'Jobs in the pulls queue (waiting, prioritized, delayed), as last read by admission control (refresh and change hints are judged by it).', registers: [registry] });
  const shed = new Counter({ name: 'octo_sync_admission_shed_total', help: 'Availability writes (notify, refresh) refused by admission control, by reason.', labelNames: ['reason'] as const, registers: [registry] });
  return {
    registry,
    admission: { backlog: (work, jobs) => (work === 'changes' ? backlog : pullBacklog).set(jobs), shed: (reason) => shed.inc({ reason }) },
    observe: (method, route, status, seconds) => {
      const s = seriesFor(method, route, status);
      s.count.inc();
      s.time.observe(seconds);
    },
  };
}
