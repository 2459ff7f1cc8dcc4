import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo, LookupFunction } from 'node:net';
import { generateCatalog, reformatJson, startTestSupplier, waitFor, type TestSupplier } from '@octo-sync/testkit';
import {
  SupplierError,
  canonicalHash,
  createSupplierClient,
  parseCatalog,
  type OutboundConfig,
  type SupplierClient,
  type SupplierErrorCode,
  type SupplierTarget,
} from '@octo-sync/octo';
import { checkConnectedSocket, createGuardedConnector } from '../src/outbound-guard';

const KEY = 'test-key-5f1c2d9a7b';
const MiB = 1024 * 1024;

const base: OutboundConfig = {
  allowedHosts: [],
  allowInsecureHttp: true,
  capabilities: 'octo/pricing',
  userAgent: 'octo-sync/0.1 (+https://github.com/octo-sync)',
  connectTimeoutMs: 2000,
  headersTimeoutMs: 2000,
  stallTimeoutMs: 2000,
  totalTimeoutMs: 10_000,
  maxBodyBytes: MiB,
  maxRedirects: 3,
};

const opened: Array<{ close(): Promise<void> }> = [];

async function supplierFor(): Promise<TestSupplier> {
  const supplier = await startTestSupplier();
  opened.push(supplier);
  return supplier;
}

function clientFor(overrides: Partial<OutboundConfig>): SupplierClient {
  const client = createSupplierClient({ ...base, ...overrides });
  opened.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((resource) => resource.close()));
});

async function failure(promise: Promise<unknown>, code: SupplierErrorCode): Promise<SupplierError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error: unknown) {
    caught = error;
  }
  if (caught === undefined) throw new Error(`expected ${code}, but the call succeeded`);
  if (!(caught instanceof SupplierError)) throw new Error(`expected ${code}, got another error`, { cause: caught });
  expect(caught.code).toBe(code);
  expect(caught.message).not.toContain(KEY);
  return caught;
}

/** A lookup that resolves the given names to fixed addresses (and fails for any other name). */
function fakeDns(table: Record<string, string>): LookupFunction {
  return (hostname, options, callback) => {
    const address = table[hostname];
    if (address === undefined) {
      const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      error.code = 'ENOTFOUND';
      callback(error, '');
      return;
    }
    const family = address.includes(':') ? 6 : 4;
    if (options.all === true) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return port;
}

describe('fetchProducts against a local supplier', () => {
  let supplier: TestSupplier;
  let client: SupplierClient;
  let target: SupplierTarget;

  beforeEach(async () => {
    supplier = await supplierFor();
    client = clientFor({ allowedHosts: [supplier.hostPort] });
    target = { baseUrl: supplier.url, authType: 'bearer', authKey: KEY };
  });

  describe('success', () => {
    it('sends the OCTO headers with a bearer key and returns the raw bytes with their digest', async () => {
      const catalog = generateCatalog({ products: 20, options: 2, units: 3, seed: 7 });
      supplier.setCatalog(catalog);
      const fetched = await client.fetchProducts(target);
      const expected = Buffer.from(JSON.stringify(catalog));
      expect(fetched.status).toBe(200);
      expect(fetched.body.equals(expected)).toBe(true);
      expect(fetched.bytes).toBe(expected.length);
      expect(fetched.digest).toBe(createHash('sha256').update(expected).digest('hex'));
      expect(fetched.contentType).toBe('application/json');
      expect(fetched.latencyMs).toBeGreaterThanOrEqual(0);
      expect(parseCatalog(fetched.body)).toHaveLength(20);

      expect(supplier.requests).toHaveLength(1);
      const [request] = supplier.requests;
      expect(request?.method).toBe('GET');
      expect(request?.path).toBe('/products');
      expect(request?.headers).toMatchObject({
        authorization: `Bearer ${KEY}`,
        'octo-capabilities': 'octo/pricing',
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': 'octo-sync/0.1 (+https://github.com/octo-sync)',
      });
    });

    it('sends the raw key for api_key integrations, under the base path', async () => {
      await client.fetchProducts({ baseUrl: `${supplier.url}/octo/v1/`, authType: 'api_key', authKey: KEY });
      expect(supplier.requests[0]?.path).toBe('/octo/v1/products');
      expect(supplier.requests[0]?.headers.authorization).toBe(KEY);
    });

    it('re-spaced, reordered JSON has another digest but the same canonical hash', async () => {
      const catalog = generateCatalog({ products: 5, seed: 3 });
      supplier.setCatalog(catalog);
      const compact = await client.fetchProducts(target);
      supplier.setRawBody(reformatJson(catalog));
      const pretty = await client.fetchProducts(target);
      expect(pretty.digest).not.toBe(compact.digest);
      expect(canonicalHash(parseCatalog(pretty.body))).toBe(canonicalHash(parseCatalog(compact.body)));
    });

    it('accepts a body exactly at the size limit', async () => {
      supplier.behave({ kind: 'oversized', bytes: MiB, withContentLength: true });
      const fetched = await client.fetchProducts(target);
      expect(fetched.bytes).toBe(MiB);
      expect(parseCatalog(fetched.body)).toEqual([]);
    });
  });

  describe('timeouts and broken connections', () => {
    it('slow headers -> SUPPLIER_TIMEOUT (headers timeout)', async () => {
      const slow = clientFor({ allowedHosts: [supplier.hostPort], headersTimeoutMs: 200 });
      supplier.behave({ kind: 'slowHeaders', ms: 30_000 });
      const error = await failure(slow.fetchProducts(target), 'SUPPLIER_TIMEOUT');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('headers timeout');
    });

    it('a stalled body -> SUPPLIER_TIMEOUT (stall timeout), retryable', async () => {
      const slow = clientFor({ allowedHosts: [supplier.hostPort], stallTimeoutMs: 200 });
      supplier.setCatalog(generateCatalog({ products: 5 }));
      supplier.behave({ kind: 'slowBody', ms: 30_000 });
      const error = await failure(slow.fetchProducts(target), 'SUPPLIER_TIMEOUT');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('stalled: it sent no bytes of the catalog for 200 ms (stall timeout)');
    });

    it('a body that keeps coming is read to the end, however much longer than the stall bound it takes', async () => {
      const steady = clientFor({ allowedHosts: [supplier.hostPort], stallTimeoutMs: 1500 });
      const catalog = generateCatalog({ products: 2 });
      supplier.setCatalog(catalog);
      const size = Buffer.byteLength(JSON.stringify(catalog));
      // Chunks every 10 ms: the whole body takes far longer than 1500 ms, no gap comes close to it.
      const chunkBytes = Math.ceil(size / 200);
      supplier.behave({ kind: 'trickle', intervalMs: 10, chunkBytes });
      const fetched = await steady.fetchProducts(target, { totalTimeoutMs: 60_000 });
      expect(fetched.bytes).toBe(size);
      expect(fetched.latencyMs).toBeGreaterThan(1500);
    });

    it('the total deadline covers the body too', async () => {
      supplier.setCatalog(generateCatalog({ products: 5 }));
      supplier.behave({ kind: 'slowBody', ms: 30_000 });
      const error = await failure(client.fetchProducts(target, { totalTimeoutMs: 250 }), 'SUPPLIER_TIMEOUT');
      expect(error.message).toContain('within 250 ms (total timeout)');
    });

    it('aborting through the caller signal stops a held request', async () => {
      const held = supplier.hold();
      const controller = new AbortController();
      const pending = client.fetchProducts(target, { signal: controller.signal });
      await supplier.waitForRequests(1);
      controller.abort();
      await failure(pending, 'SUPPLIER_TIMEOUT');
      held.release();
    });

    it('a body cut short -> SUPPLIER_CONNECTION_LOST (retryable)', async () => {
      supplier.setCatalog(generateCatalog({ products: 5 }));
      supplier.behave({ kind: 'truncated' });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_CONNECTION_LOST');
      expect(error.retryable).toBe(true);
      expect(error.cause).toBeDefined();
    });

    it('a hang-up before any answer -> SUPPLIER_CONNECT_FAILED (retryable)', async () => {
      supplier.behave({ kind: 'hangUp' });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_CONNECT_FAILED');
      expect(error.retryable).toBe(true);
    });

    it('nothing listening -> SUPPLIER_CONNECT_FAILED', async () => {
      const port = await freePort();
      const refused = clientFor({ allowedHosts: [`127.0.0.1:${port}`] });
      const error = await failure(refused.fetchProducts({ ...target, baseUrl: `http://127.0.0.1:${port}` }), 'SUPPLIER_CONNECT_FAILED');
      expect(error.message).toContain('ECONNREFUSED');
    });

    it('an unknown host name -> SUPPLIER_DNS_FAILED', async () => {
      const dns = clientFor({ lookup: fakeDns({}) });
      const error = await failure(dns.fetchProducts({ ...target, baseUrl: 'http://octo.unknown.test' }), 'SUPPLIER_DNS_FAILED');
      expect(error.message).toBe('could not resolve host octo.unknown.test (DNS ENOTFOUND): check the base_url host name');
    });
  });

  describe('bodies', () => {
    it('invalid JSON is fetched, then refused by parseCatalog', async () => {
      supplier.behave({ kind: 'invalidJson' });
      const fetched = await client.fetchProducts(target);
      expect(() => parseCatalog(fetched.body)).toThrow(expect.objectContaining({ code: 'CATALOG_NOT_JSON', retryable: false }));
    });

    it('a declared Content-Length above the cap is refused before reading', async () => {
      supplier.behave({ kind: 'oversized', bytes: 3 * MiB, withContentLength: true });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_BODY_TOO_LARGE');
      expect(error.retryable).toBe(false);
      expect(error.message).toBe(`supplier's catalog declares ${3 * MiB} bytes, above the limit of ${MiB} bytes`);
    });

    it('a chunked body is cut off once it passes the cap', async () => {
      supplier.behave({ kind: 'oversized', bytes: 3 * MiB, withContentLength: false });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_BODY_TOO_LARGE');
      expect(error.message).toContain(`exceeded ${MiB} bytes while streaming`);
    });
  });

  describe('supplier error answers', () => {
    it.each([
      [401, undefined, 'SUPPLIER_AUTH_REJECTED', false],
      [403, undefined, 'SUPPLIER_AUTH_REJECTED', false],
      [404, undefined, 'SUPPLIER_HTTP_ERROR', false],
      [500, undefined, 'SUPPLIER_SERVER_ERROR', true],
      [503, undefined, 'SUPPLIER_SERVER_ERROR', true],
      [429, undefined, 'SUPPLIER_RATE_LIMITED', true],
    ] as const)('%i -> %s', async (status, body, code, retryable) => {
      supplier.behave({ kind: 'status', status, ...(body === undefined ? {} : { body }) });
      const error = await failure(client.fetchProducts(target), code);
      expect(error.retryable).toBe(retryable);
      expect(error.status).toBe(status);
    });

    it('401 tells the partner what to check', async () => {
      supplier.behave({ kind: 'status', status: 401, body: 'Unauthorized' });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_AUTH_REJECTED');
      expect(error.message).toBe('supplier answered 401 Unauthorized: check the auth_key and auth_type; supplier said: "Unauthorized"');
    });

    it('a refusal names the call it answered: a 4xx to POST /availability does not blame GET /products', async () => {
      supplier.behave({ kind: 'status', status: 404, body: 'Not Found' });
      const query = { productId: 'p1', optionId: 'DEFAULT', localDateStart: '2026-12-08', localDateEnd: '2026-12-09' };
      const error = await failure(client.fetchAvailability(target, query), 'SUPPLIER_HTTP_ERROR');
      expect(error.message).toBe('supplier answered 404 Not Found to POST /availability; supplier said: "Not Found"');
    });

    it('429 with Retry-After seconds, 503 with Retry-After date', async () => {
      supplier.behave({ kind: 'status', status: 429, headers: { 'retry-after': '30' }, times: 1 });
      expect((await failure(client.fetchProducts(target), 'SUPPLIER_RATE_LIMITED')).retryAfterMs).toBe(30_000);
      const at = new Date(Date.now() + 120_000).toUTCString();
      supplier.behave({ kind: 'status', status: 503, headers: { 'retry-after': at }, times: 1 });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_SERVER_ERROR');
      expect(error.retryAfterMs).toBeGreaterThan(100_000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(120_000);
      await expect(client.fetchProducts(target)).resolves.toMatchObject({ status: 200 });
    });

    it('an OCTO UNAUTHORIZED body with status 400 -> SUPPLIER_AUTH_REJECTED', async () => {
      supplier.behave({ kind: 'status', status: 400, body: JSON.stringify({ error: 'UNAUTHORIZED', errorMessage: 'Invalid API key' }) });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_AUTH_REJECTED');
      expect(error.status).toBe(400);
      expect(error.message).toContain('supplier said: "Invalid API key"');
    });

    it('plain-text bodies are quoted briefly, with the key redacted', async () => {
      supplier.behave({ kind: 'status', status: 500, body: `token ${KEY} broke the database\n${'x'.repeat(5000)}` });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_SERVER_ERROR');
      expect(error.message).toContain('supplier said: "token [redacted] broke the database');
      expect(error.message.length).toBeLessThan(400);
    });
  });

  describe('probes (status and headers only)', () => {
    it('a 2xx answer is read up to its headers; the huge body is dropped and the connection closed', async () => {
      const size = 256 * MiB;
      supplier.behave({ kind: 'oversized', bytes: size, withContentLength: true });
      const probed = await client.probeProducts(target);
      expect(probed).toMatchObject({ status: 200, contentType: 'application/json', contentLength: size });
      const request = await waitFor('the supplier to see its answer closed', () => (supplier.requests[0]?.completed === undefined ? undefined : supplier.requests[0]));
      expect(request.completed).toBe(false);
      expect(request.bytesSent).toBeLessThan(size / 8);
    });

    it('a non-2xx answer fails the probe as it fails a fetch', async () => {
      supplier.behave({ kind: 'status', status: 401 });
      await failure(client.probeProducts(target), 'SUPPLIER_AUTH_REJECTED');
    });

    it('follows redirects and applies the same address rules', async () => {
      const other = await supplierFor();
      supplier.behave({ kind: 'redirect', location: `${other.url}/products` });
      await failure(client.probeProducts(target), 'SUPPLIER_REDIRECT_BLOCKED');
      expect(other.requests).toHaveLength(0);
    });
  });

  describe('redirects', () => {
    it('follows a redirect within the allowed host, keeping the credentials', async () => {
      supplier.behave({ kind: 'redirect', location: '/v2/products', times: 1 });
      const fetched = await client.fetchProducts(target);
      expect(fetched.status).toBe(200);
      expect(supplier.requests.map((r) => r.path)).toEqual(['/products', '/v2/products']);
      expect(supplier.requests[1]?.headers.authorization).toBe(`Bearer ${KEY}`);
    });

    it('does not forward Authorization to another (allowed) origin', async () => {
      const other = await supplierFor();
      const twoHosts = clientFor({ allowedHosts: [supplier.hostPort, other.hostPort] });
      supplier.behave({ kind: 'redirect', location: `${other.url}/products`, status: 307, times: 1 });
      await twoHosts.fetchProducts(target);
      expect(other.requests).toHaveLength(1);
      expect(other.requests[0]?.headers.authorization).toBeUndefined();
      expect(other.requests[0]?.headers['octo-capabilities']).toBe('octo/pricing');
    });

    it('refuses a redirect to a loopback port that is not allowed, without connecting', async () => {
      const other = await supplierFor();
      supplier.behave({ kind: 'redirect', location: `${other.url}/products` });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_REDIRECT_BLOCKED');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain(`supplier redirected to ${other.url}, which may not be reached: connection to 127.0.0.1 refused: address is loopback and not allowed`);
      expect(other.requests).toHaveLength(0);
    });

    it('refuses a redirect to the cloud metadata address', async () => {
      supplier.behave({ kind: 'redirect', location: 'http://169.254.169.254/latest/meta-data/' });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_REDIRECT_BLOCKED');
      expect(error.message).toContain('supplier redirected to http://169.254.169.254');
      expect(error.message).toContain('169.254.169.254 refused: address is cloud-metadata');
    });

    it('refuses a redirect to a name that resolves to a private address', async () => {
      const dns = clientFor({ allowedHosts: [supplier.hostPort], lookup: fakeDns({ 'internal.example.test': '10.1.2.3' }) });
      supplier.behave({ kind: 'redirect', location: 'http://internal.example.test/products' });
      const error = await failure(dns.fetchProducts(target), 'SUPPLIER_REDIRECT_BLOCKED');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('supplier redirected to http://internal.example.test, which may not be reached');
      expect(error.message).toContain('internal.example.test refused: it resolves to 10.1.2.3, which is private');
    });

    it('refuses a redirect to another scheme', async () => {
      supplier.behave({ kind: 'redirect', location: 'ftp://files.example.com/products' });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_REDIRECT_REFUSED');
      expect(error.message).toContain('supplier redirected to ftp://files.example.com refused');
    });

    it('stops after maxRedirects hops', async () => {
      supplier.behave({ kind: 'redirect', location: '/products' });
      const error = await failure(client.fetchProducts(target), 'SUPPLIER_REDIRECT_REFUSED');
      expect(error.message).toContain('more than 3 times');
      expect(supplier.requests).toHaveLength(4);
    });
  });
});

describe('outbound address rules', () => {
  let supplier: TestSupplier;

  beforeEach(async () => {
    supplier = await supplierFor();
  });

  it('a loopback supplier that is not in allowedHosts is refused without a request', async () => {
    const client = clientFor({});
    const error = await failure(client.fetchProducts({ baseUrl: supplier.url, authType: 'bearer', authKey: KEY }), 'SUPPLIER_ADDRESS_BLOCKED');
    expect(error.message).toContain('connection to 127.0.0.1 refused: address is loopback and not allowed');
    expect(supplier.requests).toHaveLength(0);
  });

  it('an allowance is for one port only', async () => {
    const client = clientFor({ allowedHosts: [`127.0.0.1:${supplier.port === 65535 ? 1 : supplier.port + 1}`] });
    await failure(client.fetchProducts({ baseUrl: supplier.url, authType: 'bearer', authKey: KEY }), 'SUPPLIER_ADDRESS_BLOCKED');
    expect(supplier.requests).toHaveLength(0);
  });

  it('IPv6 loopback and IPv4-mapped literals are refused', async () => {
    const client = clientFor({});
    await failure(client.fetchProducts({ baseUrl: `http://[::1]:${supplier.port}`, authType: 'bearer', authKey: KEY }), 'SUPPLIER_ADDRESS_BLOCKED');
    await failure(client.fetchProducts({ baseUrl: `http://[::ffff:127.0.0.1]:${supplier.port}`, authType: 'bearer', authKey: KEY }), 'SUPPLIER_ADDRESS_BLOCKED');
    expect(supplier.requests).toHaveLength(0);
  });

  it('https-only mode refuses an http base URL', async () => {
    const client = clientFor({ allowInsecureHttp: false, allowedHosts: [supplier.hostPort] });
    const error = await failure(client.fetchProducts({ baseUrl: supplier.url, authType: 'bearer', authKey: KEY }), 'SUPPLIER_ADDRESS_BLOCKED');
    expect(error.message).toContain('plain http is not allowed, use https');
    expect(supplier.requests).toHaveLength(0);
  });

  it('localhost (resolving to loopback) is refused unless allowed by name', async () => {
    const target: SupplierTarget = { baseUrl: `http://localhost:${supplier.port}`, authType: 'bearer', authKey: KEY };
    const strict = clientFor({});
    const error = await failure(strict.fetchProducts(target), 'SUPPLIER_ADDRESS_BLOCKED');
    expect(error.message).toMatch(/connection to localhost refused: it resolves to (127\.0\.0\.1|::1), which is loopback/);
    expect(supplier.requests).toHaveLength(0);

    const byIp = clientFor({ allowedHosts: [supplier.hostPort], lookup: fakeDns({ localhost: '127.0.0.1' }) });
    const byIpError = await failure(byIp.fetchProducts(target), 'SUPPLIER_ADDRESS_BLOCKED');
    expect(byIpError.message).toContain(`OCTO_ALLOWED_HOSTS allows ${supplier.hostPort}, but entries match the host exactly as written in base_url`);
    expect(byIpError.message).toContain(`add localhost:${supplier.port} to OCTO_ALLOWED_HOSTS`);

    const byName = clientFor({ allowedHosts: [`LOCALHOST:${supplier.port}`], lookup: fakeDns({ localhost: '127.0.0.1' }) });
    await expect(byName.fetchProducts(target)).resolves.toMatchObject({ status: 200 });
    expect(supplier.requests[0]?.headers.host).toBe(`localhost:${supplier.port}`);
  });

  it('a public-looking name that resolves to a private address is refused (DNS check)', async () => {
    const client = clientFor({ lookup: fakeDns({ 'octo.partner.test': '127.0.0.1' }) });
    const error = await failure(client.fetchProducts({ baseUrl: `http://octo.partner.test:${supplier.port}`, authType: 'bearer', authKey: KEY }), 'SUPPLIER_ADDRESS_BLOCKED');
    expect(error.message).toContain('it resolves to 127.0.0.1, which is loopback');
    expect(supplier.requests).toHaveLength(0);
  });

  it('malformed allowedHosts entries fail fast', () => {
    expect(() => createSupplierClient({ ...base, allowedHosts: ['localhost'] })).toThrow('allowedHosts "localhost": must be host:port');
  });
});

describe('TLS', () => {
  // A self-signed certificate for 127.0.0.1 and localhost, valid until 2126, made for these tests.
  const cert = readFileSync(join(__dirname, 'fixtures', 'localhost-cert.pem'));
  const key = readFileSync(join(__dirname, 'fixtures', 'localhost-key.pem'));
  let secure: TestSupplier;
  let target: SupplierTarget;

  beforeEach(async () => {
    secure = await startTestSupplier({ tls: { key, cert }, catalog: generateCatalog({ products: 2 }) });
    opened.push(secure);
    target = { baseUrl: secure.url, authType: 'bearer', authKey: KEY };
  });

  it('https-only mode fetches from a trusted https supplier', async () => {
    const client = clientFor({ allowInsecureHttp: false, allowedHosts: [secure.hostPort], tlsCa: cert });
    const fetched = await client.fetchProducts(target);
    expect(parseCatalog(fetched.body)).toHaveLength(2);
    expect(secure.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('an untrusted (self-signed) certificate -> SUPPLIER_TLS_FAILED, not retryable', async () => {
    const client = clientFor({ allowInsecureHttp: false, allowedHosts: [secure.hostPort] });
    const error = await failure(client.fetchProducts(target), 'SUPPLIER_TLS_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('self-signed');
    expect(secure.requests).toHaveLength(0);
  });

  it('a certificate for another name -> SUPPLIER_TLS_FAILED', async () => {
    const client = clientFor({
      allowInsecureHttp: false,
      allowedHosts: [`octo.other.test:${secure.port}`],
      lookup: fakeDns({ 'octo.other.test': '127.0.0.1' }),
      tlsCa: cert,
    });
    const error = await failure(client.fetchProducts({ ...target, baseUrl: `https://octo.other.test:${secure.port}` }), 'SUPPLIER_TLS_FAILED');
    expect(error.message).toContain('does not cover this host name');
  });

  it('https-only mode refuses a redirect hop to plain http', async () => {
    const plain = await supplierFor();
    const client = clientFor({ allowInsecureHttp: false, allowedHosts: [secure.hostPort, plain.hostPort], tlsCa: cert });
    secure.behave({ kind: 'redirect', location: `${plain.url}/products` });
    const error = await failure(client.fetchProducts(target), 'SUPPLIER_REDIRECT_REFUSED');
    expect(error.message).toContain(`supplier redirected to http://${plain.hostPort} refused: plain http is not allowed`);
    expect(plain.requests).toHaveLength(0);
  });
});

describe('the guarded connector on its own', () => {
  // Base URL and redirect checks refuse literal addresses before a request is made; these tests
  // prove the connector refuses them by itself (before connecting: the message differs from the
  // connected-address check), and that an allowance opens exactly one host:port.
  function connectWith(connector: ReturnType<typeof createGuardedConnector>, hostname: string, port: number): Promise<{ error: unknown; remote?: string }> {
    return new Promise((resolve) => {
      connector({ hostname, host: `${hostname}:${port}`, protocol: 'http:', port: String(port) }, (error, socket) => {
        if (socket === null) {
          resolve({ error });
          return;
        }
        const remote = socket.remoteAddress;
        socket.destroy();
        resolve({ error, ...(remote === undefined ? {} : { remote }) });
      });
    });
  }

  it('refuses non-public literals before connecting and lets an allowed host:port through', async () => {
    const supplier = await supplierFor();
    const strict = createGuardedConnector({ ...base }, new Set());
    for (const literal of ['127.0.0.1', '::ffff:127.0.0.1', '::1']) {
      const { error } = await connectWith(strict, literal, supplier.port);
      expect(error).toBeInstanceOf(SupplierError);
      expect((error as SupplierError).message).toContain(`connection to ${literal} refused: address is loopback`);
    }
    const allowing = createGuardedConnector({ ...base }, new Set([supplier.hostPort]));
    expect(await connectWith(allowing, '127.0.0.1', supplier.port)).toEqual({ error: null, remote: '127.0.0.1' });
  });

  it('checks the connected socket once more', async () => {
    const supplier = await supplierFor();
    const lenient = createGuardedConnector({ ...base }, new Set([supplier.hostPort]));
    await new Promise<void>((resolve, reject) => {
      lenient({ hostname: '127.0.0.1', host: supplier.hostPort, protocol: 'http:', port: String(supplier.port) }, (error, socket) => {
        if (socket === null) {
          reject(error);
          return;
        }
        const refused = checkConnectedSocket(socket, 'rebound.example.test');
        socket.destroy();
        expect(refused?.code).toBe('SUPPLIER_ADDRESS_BLOCKED');
        expect(refused?.message).toBe('connection to rebound.example.test refused: the connected address 127.0.0.1 is loopback and not allowed');
        resolve();
      });
    });
    expect(checkConnectedSocket({ remoteAddress: '93.184.216.34' }, 'x')).toBeUndefined();
    expect(checkConnectedSocket({ remoteAddress: undefined }, 'x')?.code).toBe('SUPPLIER_ADDRESS_BLOCKED');
  });
});

describe('a large generated catalog end to end', () => {
  it('fetches, parses and hashes 10,000 products x 5 options x 4 units', async () => {
    const supplier = await supplierFor();
    const catalog = generateCatalog({ products: 10_000, options: 5, units: 4, seed: 11 });
    supplier.setCatalog(catalog);
    const client = clientFor({ allowedHosts: [supplier.hostPort], maxBodyBytes: 128 * MiB });
    const fetched = await client.fetchProducts({ baseUrl: supplier.url, authType: 'bearer', authKey: KEY });
    const products = parseCatalog(fetched.body);
    expect(fetched.bytes).toBeGreaterThan(64 * MiB); // ~99 MB: above the 64 MiB default cap
    expect(products).toHaveLength(10_000);
    // Hashing what came over the wire equals hashing the objects the supplier serialised.
    expect(canonicalHash(products)).toBe(canonicalHash(catalog));
  });
});
