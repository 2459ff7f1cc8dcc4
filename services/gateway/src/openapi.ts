import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { idParamsSchema } from './request-schemas';
import { errorEnvelopeSchema } from './response-schemas';
import type { RouteSpec } from './route';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input: every bad field (and every query parameter the route does not take) is listed in `error`.',
  401: 'Missing or invalid credentials.',
  403: 'Authenticated, but this role may not call this endpoint.',
  404: 'Unknown resource (or another partner’s).',
  409: 'The integration is not in a state that allows this.',
  410: 'The cursor is older than the retention: events after it were pruned.',
  413: 'Body too large (checked on the declared Content-Length before it is read).',
  415: 'Body is not JSON.',
  429: 'Rate limited; see Retry-After.',
  500: 'A bug; it has been logged.',
  503: 'Postgres or Redis is unreachable.',
};

const BEARER_ROLES: ReadonlySet<RouteSpec['auth']> = new Set(['jwt', 'partner', 'admin', 'feed', 'dashboard']);

/** The refusals a route can answer besides those it declares: the steps `mountRoute` wires for it. */
function refusalsOf(spec: RouteSpec): Set<number> {
  // Every route checks a declared Content-Length against its limit (413); every handler refuses a
  // query parameter it does not take (400); a mounted sub-application reads its own query.
  const statuses = new Set<number>([413, 500, 503]);
  if (!spec.mount) statuses.add(400);
  if (spec.body) statuses.add(415);
  if (spec.auth !== 'public') statuses.add(401);
  if (BEARER_ROLES.has(spec.auth)) statuses.add(403);
  if (spec.auth === 'webhook') statuses.add(429);
  if (spec.auth !== 'public' && spec.auth !== 'webhook' && spec.auth !== 'feed') statuses.add(404);
  if (spec.auth === 'feed') statuses.add(410);
  return statuses;
}

function responsesOf(spec: RouteSpec): RouteConfig['responses'] {
  const error = { 'application/json': { schema: errorEnvelopeSchema } };
  const responses: RouteConfig['responses'] = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const content = r.schema ? { [r.contentType ?? 'application/json']: { schema: r.schema } } : Number(status) >= 400 ? error : undefined;
    responses[status] = { description: r.description, ...(r.headers ? { headers: r.headers } : {}), ...(content ? { content } : {}) };
  }
  for (const status of refusalsOf(spec)) responses[String(status)] ??= { description: STATUS_TEXT[status] ?? 'Error', content: error };
  return responses;
}

function pathParams(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] as string);
}

/** `{id}` is documented as the integration id; any other path parameter as a string. */
const paramsSchema = (names: string[]) => idParamsSchema.pick({ id: true }).extend(Object.fromEntries(names.filter((n) => n !== 'id').map((n) => [n, z.string()])));

function securityOf(auth: RouteSpec['auth']): Array<Record<string, string[]>> {
  if (auth === 'public') return [];
  if (auth === 'webhook') return [{ webhookSecret: [] }];
  return auth === 'dashboard' ? [{ bearerAuth: [] }, { dashboardCookie: [] }] : [{ bearerAuth: [] }];
}

/** Adds one route to the OpenAPI registry, including the error answers it can give. */
function registerRoute(registry: OpenAPIRegistry, spec: RouteSpec): void {
  const params = pathParams(spec.path);
  registry.registerPath({
    method: spec.method,
    path: spec.path,
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: spec.tags,
    security: securityOf(spec.auth),
    request: {
      ...(params.length > 0 ? { params: paramsSchema(params) } : {}),
      ...(spec.query && spec.query instanceof z.ZodObject ? { query: spec.query } : {}),
      ...(spec.headers ? { headers: spec.headers } : {}),
      ...(spec.body ? { body: { required: spec.bodyOptional !== true, content: { 'application/json': { schema: spec.body } } } } : {}),
    },
    responses: responsesOf(spec),
  });
}

function registerSecuritySchemes(registry: OpenAPIRegistry): void {
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'Claims: sub (partner id), role (partner, admin, or reader: the change feed only), exp (required).',
  });
  registry.registerComponent('securitySchemes', 'webhookSecret', {
    type: 'apiKey',
    in: 'header',
    name: 'x-webhook-secret',
    description: 'The integration’s webhook secret (64 hex characters), compared in constant time.',
  });
  registry.registerComponent('securitySchemes', 'dashboardCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: 'octo_sync_dashboard',
    description: 'A console session’s id, set by `POST /admin/session` and by the console’s sign-in (`POST /console/session`), cleared by its sign-out; accepted by the queue dashboard only.',
  });
}

const DESCRIPTION = [
  'Partner integrations for OCTO catalog sync. Success: `{"success": 1, "data": ...}`; errors: `{"success": 0, "error": [...], "message", "code", "reason"}`.',
  'Every path is absolute from the gateway’s origin (the one server, `/`): call the gateway that serves this document.',
  'Paths below `/api/v1/partner-integrations/` that start with `me` or `admin` are fixed paths, matched before `/{id}/…`; an integration id is a UUID, never `me` or `admin`. ' +
    'So `/admin/{id}` (PATCH, operators) and `/{id}/sync-log`, `/{id}/health`, `/{id}/events`, `/{id}/alerts`, `/{id}/products`, `/{id}/availability` (GET), which path-matching tools report as ambiguous ' +
    '(`/admin/health` fits both templates), never name the same operation: the methods differ, and `/admin/health` is the health of an integration whose id is `admin`, which does not exist (404).',
].join('\n\n');

/** The OpenAPI 3.1 document of every route, generated from the schemas the routes validate with. */
export function buildOpenApiDocument(routes: readonly RouteSpec[]): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registerSecuritySchemes(registry);
  for (const route of routes) registerRoute(registry, route);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'octo-sync partner API',
      version: '1.0.0',
      description: DESCRIPTION,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/', description: 'The gateway that serves this document.' }],
  });
}
