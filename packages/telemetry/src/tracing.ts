import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { BullMQOtel } from 'bullmq-otel';
import { ConfigError, type Logger } from '@octo-sync/platform';
import { loadTracingConfig, type TracingConfig } from './config';
import { flushTracing } from './flush';
import { instrumentations } from './instrumentations';
import { RedactingSpanProcessor } from './redact';
import { createSampler } from './sampler';

/** What a process holds once tracing is started (or found off). */
export interface Tracing {
  /**
   * BullMQ's telemetry adapter, for every Queue and Worker of the process: a job's add span is
   * carried in the job (BullMQ's `opts.telemetry.metadata`, W3C trace context) and its process
   * span continues that trace in the worker. Undefined while tracing is off.
   */
  readonly queueTelemetry: BullMQOtel | undefined;
  /**
   * Sends the spans still buffered, then stops; the last step of a shutdown, given what is left of
   * its budget. Never fails: spans it cannot send in time are given up with a warning on `log`.
   */
  shutdown(log: Logger, budgetMs: number): Promise<void>;
}

export interface TracingOptions {
  /** `service.name` (`OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` win, as the specification says). */
  serviceName: string;
  config: TracingConfig;
}

const OFF: Tracing = { queueTelemetry: undefined, shutdown: async () => undefined };

/**
 * Starts tracing when an OTLP endpoint is configured, and does nothing otherwise. Call it before
 * the instrumented libraries (express, pg, ioredis, undici) are first loaded: their
 * instrumentations hook `require`, so each service's `instrument.ts` is the first import of its
 * `main.ts` (the bundle evaluates imports in order).
 */
export function startTracing({ serviceName, config }: TracingOptions): Tracing {
  if (config.tracesUrl === null) return OFF;
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    sampler: createSampler(config),
    // URLs cut and job results dropped first; then batched and sent in the background (OTEL_BSP_*
    // tune it); the exporter's own requests are not traced.
    spanProcessors: [new RedactingSpanProcessor(), new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))],
  });
  // W3C `traceparent`: what BullMQ's adapter writes into each job and what an incoming request may carry.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  registerInstrumentations({ tracerProvider: provider, instrumentations: instrumentations() });
  return { queueTelemetry: new BullMQOtel({ tracerName: 'bullmq' }), shutdown: (log, budgetMs) => flushTracing(provider, log, budgetMs) };
}

/**
 * {@link startTracing} from a process's environment, for its entry point: a bad tracing variable
 * stops the process at once with one line naming it (never its value), like the services' other
 * configuration errors.
 */
export function startTracingFromEnv(serviceName: string, env: Record<string, string | undefined>): Tracing {
  try {
    return startTracing({ serviceName, config: loadTracingConfig(env) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${serviceName}: ${err.message}\n`);
    process.exit(1);
  }
}
