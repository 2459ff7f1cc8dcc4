import { context, SpanKind, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ConfigError } from '@octo-sync/platform';
import { loadTracingConfig, type TracingConfig } from './config';
import { createSampler } from './sampler';

describe('tracing variables', () => {
  it('are off without an endpoint, and sample one trace in ten parent-based by default', () => {
    expect(loadTracingConfig({})).toEqual({ tracesUrl: null, sampler: 'parentbased_traceidratio', ratio: 0.1 });
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }).tracesUrl).toBeNull();
  });

  it('send to the base endpoint’s /v1/traces, or to the traces endpoint as given', () => {
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracesUrl).toBe('http://collector:4318/v1/traces');
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp' }).tracesUrl).toBe('https://traces.example/otlp');
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracesUrl).toBeNull();
  });

  it('honour the standard sampler variables', () => {
    expect(loadTracingConfig({ OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: '0.5' })).toMatchObject({ sampler: 'always_on', ratio: 0.5 });
  });

  it('name every bad variable in one error, never its value', () => {
    const load = () => loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://secret-host', OTEL_TRACES_SAMPLER: 'sometimes', OTEL_TRACES_SAMPLER_ARG: '1.5' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT.*OTEL_TRACES_SAMPLER:.*OTEL_TRACES_SAMPLER_ARG/);
    expect(load).not.toThrow(/secret-host|sometimes|1\.5/);
  });
});

describe('the sampler', () => {
  const exporter = new InMemorySpanExporter();
  afterEach(() => exporter.reset());

  function tracerFor(config: Pick<TracingConfig, 'sampler' | 'ratio'>) {
    const provider = new BasicTracerProvider({ sampler: createSampler(config), spanProcessors: [new SimpleSpanProcessor(exporter)] });
    return provider.getTracer('test');
  }
  const recorded = () => exporter.getFinishedSpans().map((s) => s.name);

  it('begins traces only with work coming in: a request, a job added or taken', () => {
    const tracer = tracerFor({ sampler: 'parentbased_traceidratio', ratio: 1 });
    for (const [name, kind] of [['request', SpanKind.SERVER], ['add', SpanKind.PRODUCER], ['process', SpanKind.CONSUMER], ['poll', SpanKind.INTERNAL], ['redis', SpanKind.CLIENT]] as const) {
      tracer.startSpan(name, { kind }, context.active()).end();
    }
    expect(recorded()).toEqual(['request', 'add', 'process']);
  });

  it('records a trace’s client and internal spans, and follows the parent’s decision', () => {
    const tracer = tracerFor({ sampler: 'parentbased_traceidratio', ratio: 1 });
    const request = tracer.startSpan('request', { kind: SpanKind.SERVER });
    const inside: Context = trace.setSpan(context.active(), request);
    tracer.startSpan('statement', { kind: SpanKind.CLIENT }, inside).end();
    tracer.startSpan('step', { kind: SpanKind.INTERNAL }, inside).end();
    request.end();
    expect(recorded()).toEqual(['statement', 'step', 'request']);

    exporter.reset();
    const never = tracerFor({ sampler: 'parentbased_traceidratio', ratio: 0 });
    const unsampled = never.startSpan('request', { kind: SpanKind.SERVER });
    // A job whose add was not sampled is not sampled either, whatever the worker's own ratio.
    tracer.startSpan('process', { kind: SpanKind.CONSUMER }, trace.setSpan(context.active(), unsampled)).end();
    unsampled.end();
    expect(recorded()).toEqual([]);
  });

  it('follows an incoming request\'s caller: its sampled traceparent is recorded, its unsampled one dropped', () => {
    const remote = (traceFlags: TraceFlags) => trace.setSpanContext(context.active(), { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags, isRemote: true });
    const never = tracerFor({ sampler: 'parentbased_traceidratio', ratio: 0 });
    const asked = never.startSpan('asked', { kind: SpanKind.SERVER }, remote(TraceFlags.SAMPLED));
    asked.end();
    const always = tracerFor({ sampler: 'parentbased_traceidratio', ratio: 1 });
    always.startSpan('declined', { kind: SpanKind.SERVER }, remote(TraceFlags.NONE)).end();
    expect(recorded()).toEqual(['asked']);
    // It joins the caller's trace.
    expect(asked.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('records about the configured share of the traces that begin here', () => {
    const tracer = tracerFor({ sampler: 'parentbased_traceidratio', ratio: 0.1 });
    for (let i = 0; i < 4000; i++) tracer.startSpan('request', { kind: SpanKind.SERVER }).end();
    // Binomial(4000, 0.1): 400 ± 19; the bounds are more than 5 standard deviations away.
    expect(recorded().length).toBeGreaterThan(300);
    expect(recorded().length).toBeLessThan(500);
  });
});
