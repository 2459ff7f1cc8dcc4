import { freePort, generateCatalog, startStack, tryConnect, type ServiceProcess, type TestStack } from '@octo-sync/testkit';

/** The address and port a process logged with its `msg` line. */
async function listening(service: ServiceProcess, msg: string): Promise<{ host: unknown; port: number }> {
  const line = await service.waitForLog((l) => l.msg === msg);
  return { host: line.host, port: Number(line.port) };
}

/**
 * The real processes, as built and launched in production: `HOST` and `METRICS_HOST` decide where
 * the gateway and the worker's unauthenticated metrics listen (on Linux the whole of 127/8 is
 * local, so 127.0.0.2 is "another interface" without any outside address). Their stack traces are
 * readable-failures.e2e.test.ts's.
 */
describe('listening addresses (gateway + worker processes)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack('e2e-listeners', { catalog: generateCatalog({ products: 2 }) });
  });
  afterAll(() => stack?.close());

  test('HOST=127.0.0.1: the gateway answers on 127.0.0.1 only; by default on every interface', async () => {
    const bound = await listening(await stack.start('gateway', { HOST: '127.0.0.1' }), 'gateway started');
    expect(bound.host).toBe('127.0.0.1');
    expect((await fetch(`http://127.0.0.1:${bound.port}/healthz`)).status).toBe(200);
    expect(await tryConnect('127.0.0.2', bound.port)).toBe('ECONNREFUSED');

    const open = await listening(await stack.start('gateway'), 'gateway started');
    expect(open.host).toBe('0.0.0.0');
    expect(await tryConnect('127.0.0.2', open.port)).toBe('connected');
  });

  test('METRICS_HOST=127.0.0.1: the worker serves /metrics on 127.0.0.1 only', async () => {
    const port = await freePort();
    const worker = await stack.start('worker', { METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' });
    expect(await listening(worker, 'metrics listening')).toEqual({ host: '127.0.0.1', port });
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    expect(await tryConnect('127.0.0.2', port)).toBe('ECONNREFUSED');
  });
});
