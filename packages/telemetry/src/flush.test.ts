import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '@octo-sync/platform';
import { flushTracing } from './flush';

/** A collector that answers every export with `status`, or never answers (`null`). */
async function collector(status: number | null): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    if (status !== null) req.on('end', () => res.writeHead(status).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, server };
}

/**
 * Posts the span names to `url` over HTTP, failing unless it answers 2xx (the OTLP exporter loads
 * `http` by a dynamic import that Jest's module system does not run).
 */
function httpExporter(url: string): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      const post = request(url, { method: 'POST' }, (res) => {
        res.resume();
        done({ code: (res.statusCode ?? 500) < 300 ? ExportResultCode.SUCCESS : ExportResultCode.FAILED, error: new Error(`collector answered ${res.statusCode}`) });
      });
      post.on('error', (error) => done({ code: ExportResultCode.FAILED, error }));
      post.end(JSON.stringify(spans.map((s) => s.name)));
    },
    shutdown: () => Promise.resolve(),
  };
}

/** A provider with one span buffered for `url`, as a process holds it when a stop begins. */
function providerWithASpan(url: string): BasicTracerProvider {
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(httpExporter(url), { scheduledDelayMillis: 3_600_000 })] });
  provider.getTracer('test').startSpan('request').end();
  return provider;
}

function capturing() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ name: 'test', level: 'info', destination }), lines };
}

describe('the last flush of a stop', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const server of servers) server.closeAllConnections();
    for (const server of servers) server.close();
  });

  it('does not fail when the collector refuses the spans: it warns', async () => {
    const { url, server } = await collector(400);
    servers.push(server);
    const { log, lines } = capturing();
    await expect(flushTracing(providerWithASpan(url), log, 15_000)).resolves.toBeUndefined();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([['warn', 'tracing: the last spans could not be sent; stopping without them']]);
  });

  it('stops waiting for a collector that does not answer, within what is left of the stop', async () => {
    const { url, server } = await collector(null);
    servers.push(server);
    const { log, lines } = capturing();
    // 600 ms left of the stop: it waits 100 ms (half a second is kept for the exit), not for as long as the export would.
    await expect(flushTracing(providerWithASpan(url), log, 600)).resolves.toBeUndefined();
    expect(lines.map((l) => [l.level, l.limitMs])).toEqual([['warn', 100]]);
  });

  it('sends the spans to a collector that takes them, and says nothing', async () => {
    const { url, server } = await collector(200);
    servers.push(server);
    let received = 0;
    server.on('request', () => received++);
    const { log, lines } = capturing();
    await flushTracing(providerWithASpan(url), log, 15_000);
    expect({ received, lines }).toEqual({ received: 1, lines: [] });
  });
});
