import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { registerRoute, type RouteSpec } from './route';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** The OpenAPI 3.1 document of every route, generated from the schemas the routes validate with. */
export function buildOpenApiDocument(routes: readonly RouteSpec[]): OpenApiDocument {
  const registry = new OpenAPIRegistry();
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
    description: 'Set by `POST /admin/session`; accepted by the queue dashboard only.',
  });
  for (const route of routes) registerRoute(registry, route);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'octo-sync partner API',
      version: '1.0.0',
      description:
        'Partner integrations for OCTO catalog sync. Success: `{"success": 1, "data": ...}`; errors: `{"success": 0, "error": [...], "message", "code", "reason"}`.',
    },
  });
}
