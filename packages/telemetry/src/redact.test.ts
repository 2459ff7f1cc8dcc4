import { context, SpanKind, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { RedactingSpanProcessor } from './redact';

describe('what an exported span keeps of URLs and job results', () => {
  const exporter = new InMemorySpanExporter();
  // As startTracing lists them: the redaction before the processor that exports.
  const tracer = new BasicTracerProvider({ spanProcessors: [new RedactingSpanProcessor(), new SimpleSpanProcessor(exporter)] }).getTracer('test');
  afterEach(() => exporter.reset());
  const exported = () => exporter.getFinishedSpans().map((s) => ({ attributes: s.attributes, events: s.events.map((e) => e.attributes) }));

  it('an outgoing call keeps scheme, host and port only: a hook\'s path and a key in the query are not exported', () => {
    const request = tracer.startSpan('request', { kind: SpanKind.SERVER });
    const call = tracer.startSpan('POST', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), request));
    call.setAttributes({
      'url.full': 'https://hooks.slack.com:8443/services/T000/B000/XXXXSECRET?token=abc',
      'url.path': '/services/T000/B000/XXXXSECRET',
      'url.query': '?token=abc',
      'url.scheme': 'https',
      'http.url': 'https://supplier.example/octo/products?apiKey=abc',
      'http.target': '/octo/products?apiKey=abc',
    });
    call.end();
    request.end();
    const [exportedCall] = exported();
    expect(exportedCall?.attributes).toEqual({ 'url.full': 'https://hooks.slack.com:8443', 'url.scheme': 'https', 'http.url': 'https://supplier.example' });
    expect(JSON.stringify(exported())).not.toMatch(/SECRET|token|apiKey|abc/);
  });

  it('a request to the gateway keeps its path, never its query string', () => {
    const request = tracer.startSpan('GET /api/v1/changes', { kind: SpanKind.SERVER });
    request.setAttributes({ 'url.path': '/api/v1/changes', 'url.query': 'after=1&token=abc', 'http.target': '/api/v1/changes?after=1&token=abc', 'http.route': '/api/v1/changes' });
    request.end();
    expect(exported()[0]?.attributes).toEqual({ 'url.path': '/api/v1/changes', 'http.target': '/api/v1/changes', 'http.route': '/api/v1/changes' });
  });

  it('a job\'s result never leaves the process; the job\'s other events stay', () => {
    const job = tracer.startSpan('process catalog', { kind: SpanKind.CONSUMER });
    job.addEvent('job completed', { 'bullmq.job.result': JSON.stringify({ secret: 'abc' }), 'bullmq.job.attempts.made': 1 });
    job.end();
    expect(exported()[0]?.events).toEqual([{ 'bullmq.job.attempts.made': 1 }]);
  });
});
