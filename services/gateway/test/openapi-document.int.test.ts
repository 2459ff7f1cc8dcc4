import type { RouteSpec } from '../src/route';
import { useGateway } from './harness';

/** A route's path segments; `{name}` stands for any one segment. */
const segmentsOf = (path: string) => path.split('/').filter(Boolean);
const isParam = (segment: string) => /^\{.+\}$/.test(segment);

/** Whether one request could reach both routes (a mounted sub-application answers every method, and every path below its own). */
function overlap(a: RouteSpec, b: RouteSpec): boolean {
  if (a.method !== b.method && !a.mount && !b.mount) return false;
  const [x, y] = [segmentsOf(a.path), segmentsOf(b.path)];
  const length = Math.min(x.length, y.length);
  if (x.length !== y.length && !(a.mount && x.length === length) && !(b.mount && y.length === length)) return false;
  return x.slice(0, length).every((s, i) => isParam(s) || isParam(y[i]!) || s === y[i]);
}

/** OpenAPI's rule: a path is matched before another when it is literal wherever that one is, and somewhere more. */
function moreLiteral(a: RouteSpec, b: RouteSpec): boolean {
  const [x, y] = [segmentsOf(a.path), segmentsOf(b.path)];
  const pairs = x.slice(0, y.length).map((s, i) => [isParam(s), isParam(y[i]!)] as const);
  return pairs.every(([p, q]) => !p || q) && pairs.some(([p, q]) => !p && q);
}

/**
 * What Redocly's lint (`npm run lint:openapi`, redocly.yaml) does not cover: the document's error
 * answers are the gateway's real ones, and the one rule turned off there (no-ambiguous-paths) is
 * replaced by the check that matters to a client.
 */
describe('the OpenAPI document clients build on', () => {
  const { h, check } = useGateway();

  test('names its server and its license', () => {
    const document = h.app.locals.openapi();
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    expect(document.info.license).toEqual({ name: 'Apache-2.0', identifier: 'Apache-2.0' });
    expect(document.info.description).toMatch(/`\/admin\/\{id\}` \(PATCH, operators\)/);
  });

  test('the public operations answer the 4xx they document: 400 for a query parameter they do not take, 413 for a body past the limit', async () => {
    const operations = h.app.locals.routes.filter((r) => r.auth === 'public' && !r.mount);
    expect(operations.map((r) => r.path)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/api/v1/openapi.json']));
    for (const route of operations) {
      const unknownQuery = await h.http()[route.method](`${route.path}?verbose=1`);
      expect([route.path, unknownQuery.status, unknownQuery.body.reason]).toEqual([route.path, 400, 'VALIDATION_FAILED']);
      check(route.method, route.path, 400, unknownQuery.body);

      const tooLarge = await h.http()[route.method](route.path).set('content-type', 'text/plain').send('x'.repeat(h.config.bodyLimitBytes + 1));
      expect([route.path, tooLarge.status, tooLarge.body.reason]).toEqual([route.path, 413, 'PAYLOAD_TOO_LARGE']);
      check(route.method, route.path, 413, tooLarge.body);
    }
  });

  test('a request that two operations could take goes, in the gateway as in OpenAPI, to the more literal path', () => {
    const routes = h.app.locals.routes;
    const shared: string[] = [];
    routes.forEach((first, i) => {
      for (const later of routes.slice(i + 1)) {
        if (!overlap(first, later)) continue;
        shared.push(`${first.method} ${first.path} | ${later.method} ${later.path}`);
        // Express tries routes in the order they were mounted: the earlier must be the more literal.
        expect([first.path, later.path, moreLiteral(first, later)]).toEqual([first.path, later.path, true]);
      }
    });
    // Those the seed's scheme creates on purpose (fixed words where ids go) are among them.
    expect(shared).toEqual(expect.arrayContaining(['get /api/v1/partner-integrations/me | get /api/v1/partner-integrations/{id}', 'get /api/v1/partner-integrations/admin | get /api/v1/partner-integrations/{id}']));
  });
});
