import fc from 'fast-check';
import { BASE, createBody, useGateway } from './harness';

/**
 * Generated bodies, headers, paths and query strings against every route of the OpenAPI
 * document, with Postgres and Redis up: never a 5xx, never a dropped connection, always the
 * JSON envelope for a refusal. A failure prints the seed and the shrunk request to replay it.
 */
// Short waits: no worker runs here, so every webhook would otherwise wait its full bound.
const { h, admin, partner } = useGateway({ SYNC_TRIGGER_WAIT_MS: '20', NOTIFY_WAIT_MS: '20', TEST_CONNECTION_WAIT_MS: '100', WEBHOOK_RATE_LIMIT: '100000', AUTH_FAILURE_LIMIT: '100000' });
let operations: Array<{ method: string; path: string; fields: string[]; params: string[] }>;
let live: { _id: string; webhook_secret: string };

type Operation = { parameters?: Array<{ name: string; in: string }>; requestBody?: { content?: Record<string, { schema?: { $ref?: string; properties?: object } }> } };

beforeAll(async () => {
  const document = h.app.locals.openapi() as unknown as { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, { properties?: object }> } };
  const schemaFields = (op: Operation): string[] => {
    const schema = op.requestBody?.content?.['application/json']?.schema;
    const ref = schema?.$ref?.split('/').pop();
    const resolved = ref === undefined ? schema : document.components?.schemas?.[ref];
    return Object.keys(resolved?.properties ?? {});
  };
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method,
      path,
      fields: schemaFields(op),
      params: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
    })),
  );
  const created = await h.http().post(`${BASE}/admin/create`).set(admin()).send({ partner_id: 'p-fuzz', ...createBody() });
  live = created.body.data;
});

/** Percent-encodes any string, lone surrogates included (as UTF-8 of U+FFFD), plus raw escapes. */
const pathSegment = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
  fc.constantFrom('%00', '%ZZ', '%', '%ed%a0%80', '..', 'me', 'admin'),
  fc.uuid(),
);
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('\u0000', '\ud800', 'x\udc00', '', ' ', '-1', '1e309', 'true', '2026-13-45T25:61:00Z', '1969-12-31T23:59:59Z'));
const value = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 3 }), fc.dictionary(text, text, { maxKeys: 3 }));

const request = fc.record({
  operation: fc.nat(),
  id: fc.oneof(fc.constant('live'), pathSegment),
  auth: fc.constantFrom('admin', 'owner', 'stranger', 'none', 'garbage'),
  secret: fc.oneof(fc.constant('live'), text),
  body: fc.oneof(
    fc.constant(undefined),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.record({ known: fc.dictionary(fc.nat(20).map(String), value, { maxKeys: 6 }), junk: fc.dictionary(text, value, { maxKeys: 2 }) }),
  ),
  contentType: fc.constantFrom('application/json', 'application/json; charset=utf-16', 'text/plain', 'application/merge-patch+json', undefined),
  contentEncoding: fc.constantFrom(undefined, undefined, undefined, 'gzip', 'deflate', 'br', 'identity', 'zstd'),
  query: fc.array(fc.tuple(fc.oneof(fc.nat(10).map(String), text), text), { maxLength: 4 }),
  prefer: fc.constantFrom(undefined, 'respond-async', 'respond-async, wait=1', '\u00ff'),
});

/** The bytes of any string as a header value Node will send (control characters become spaces). */
function headerSafe(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1').replace(/[^\t\x20-\x7e\x80-\xff]/g, ' ');
}

test('no generated request reaches a 5xx', async () => {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const op = operations[r.operation % operations.length]!;
      const id = r.id === 'live' ? live._id : r.id;
      const path = op.path.replace('{id}', id);
      const query = r.query
        .map(([k, v]) => [op.params[Number(k)] ?? k, v] as const)
        .map(([k, v]) => `${encodeURIComponent(k.toWellFormed())}=${encodeURIComponent(v.toWellFormed())}`)
        .join('&');
      let call = h.http()[op.method as 'get'](query === '' ? path : `${path}?${query}`);
      if (r.auth === 'admin') call = call.set(admin());
      if (r.auth === 'owner') call = call.set(partner('p-fuzz'));
      if (r.auth === 'stranger') call = call.set(partner('p-other'));
      if (r.auth === 'garbage') call = call.set('Authorization', headerSafe(`Bearer ${r.secret}`));
      call = call.set('x-webhook-secret', r.secret === 'live' ? live.webhook_secret : headerSafe(r.secret));
      if (r.prefer !== undefined) call = call.set('Prefer', headerSafe(r.prefer));
      if (r.contentType !== undefined) call = call.set('Content-Type', r.contentType);
      if (r.contentEncoding !== undefined) call = call.set('Content-Encoding', r.contentEncoding);
      if (r.body !== undefined) {
        const body =
          typeof r.body === 'string'
            ? r.body
            : JSON.stringify({ ...Object.fromEntries(Object.entries(r.body.known).map(([k, v]) => [op.fields[Number(k)] ?? k, v])), ...r.body.junk });
        call = call.serialize((raw: unknown) => raw as string).send(body);
      }
      const res = await call;
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      // No worker runs here: "no worker answered" is the documented 503 of a connection test.
      const workerAway = res.status === 503 && res.body.reason === 'TEST_CONNECTION_UNAVAILABLE';
      if (res.status >= 500 && !workerAway) throw new Error(`${op.method.toUpperCase()} ${op.path} answered ${res.status}: ${res.text}`);
      if (res.status >= 400) expect(res.body).toMatchObject({ success: 0, code: res.status, reason: expect.any(String), error: expect.any(Array) });
    }),
    { numRuns: 600 },
  );
  // The run reached past authentication into validation and the handlers, not only 401s.
  const count = (from: number, to: number) => [...seen].filter(([status]) => status >= from && status < to).reduce((sum, [, n]) => sum + n, 0);
  expect({ ok: count(200, 300) > 10, invalid: count(400, 401) > 50, notFound: count(404, 405) > 5 }).toEqual({ ok: true, invalid: true, notFound: true });
});
