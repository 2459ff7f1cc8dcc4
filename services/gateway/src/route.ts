import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { unstorableInput, type Logger } from '@octo-sync/platform';
import { ApiError, errorMiddleware } from './errors';
import { inexactNumberProblems, jsonBodyText, noteInexactNumbers } from './exact-numbers';
import type { Principal } from './request-context';
import { noQuerySchema } from './request-schemas';
import { signedBody } from './signed-body';
import { formatIssues, friendlyErrors } from './validation';

/**
 * Who may call a route: `public` (ops), `jwt` (any role; the handler applies owner-or-admin),
 * `partner`, `admin`, `feed` (admin or reader: the change feed), `dashboard` (admin, by bearer or
 * the dashboard's cookie), or `webhook` (x-webhook-secret of the `{id}` integration).
 */
export type RouteAuth = 'public' | 'jwt' | 'partner' | 'admin' | 'feed' | 'dashboard' | 'webhook';

interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Response content type when not JSON. */
  contentType?: string;
  headers?: Record<string, { description: string; schema: { type: 'string' | 'integer' } }>;
}

/** What a handler returns; the route writes it. */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Set for non-JSON answers (the body is then sent as a string). */
  contentType?: string;
}

/** A success answer in the partner API's envelope, `{success: 1, data}`. */
export function ok(data: unknown, status = 200, headers?: Record<string, string>): Reply {
  return { status, body: { success: 1, data }, ...(headers === undefined ? {} : { headers }) };
}

interface HandlerContext<B, Q> {
  req: Request;
  body: B;
  query: Q;
  params: Record<string, string>;
  log: Logger;
}

/**
 * One HTTP route, declared once: Express is wired from it and the OpenAPI document is generated
 * from it, with the same zod schemas, so the two cannot drift apart.
 */
export interface RouteSpec<B extends z.ZodType | undefined = z.ZodType | undefined, Q extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** OpenAPI-style path, `{id}` for parameters. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: RouteAuth;
  /** JSON body schema; routes without one accept (and ignore) any small body, no Content-Type needed. */
  body?: B;
  /** The JSON body may be left out (no bytes, no Content-Type needed): it is then validated as `{}`. */
  bodyOptional?: boolean;
  /** Body size limit in bytes (413 past it); the app-wide default otherwise. */
  bodyLimitBytes?: number;
  query?: Q;
  /** Request headers to document (webhook secret, Prefer). */
  headers?: z.ZodObject;
  /** Webhook routes: how long a concurrent copy of a signed delivery waits for the first copy's answer. */
  deliveryWaitMs?: number;
  responses: Record<number, ResponseSpec>;
  /**
   * A sub-application that answers `path` and everything below it, for every method, after the
   * auth step (the queue dashboard); such a route has no `handler`.
   */
  mount?: RequestHandler[];
  /** Needs the Authorization header itself (it reads the bearer token): the pages' `/api` never serves it. */
  bearerOnly?: true;
  handler?: (ctx: HandlerContext<B extends z.ZodType ? z.output<B> : undefined, z.output<Q>>) => Promise<Reply>;
}

/** Declares a route with its types inferred from its schemas. */
export function defineRoute<B extends z.ZodType | undefined = undefined, Q extends z.ZodType = typeof noQuerySchema>(spec: RouteSpec<B, Q>): RouteSpec {
  return spec;
}

/** `/a/{id}/b` → `/a/:id/b`. */
function expressPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

const JSON_TYPES = ['application/json', 'application/*+json'];

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

/** 413 for a body whose declared length is already too large (checked before reading it). */
function checkDeclaredLength(req: Request, limit: number): void {
  const length = Number(req.headers['content-length'] ?? 0);
  if (Number.isFinite(length) && length > limit) throw new ApiError('PAYLOAD_TOO_LARGE', [`body: must be at most ${limit} bytes`]);
}

function declaredLengthGuard(limit: number): RequestHandler {
  return (req, _res, next) => {
    checkDeclaredLength(req, limit);
    next();
  };
}

/** JSON routes: 415 for any other media type, 413 past the limit, 400 for unparseable JSON. */
function jsonBody(limit: number): RequestHandler[] {
  const parse = express.json({ limit, strict: true, type: JSON_TYPES, verify: (req, _res, bytes, charset) => noteInexactNumbers(req, jsonBodyText(bytes, charset)) });
  const mediaType: RequestHandler = (req, _res, next) => {
    if (hasBody(req) && !req.is(JSON_TYPES)) {
      next(new ApiError('UNSUPPORTED_MEDIA_TYPE', ['content-type: must be application/json']));
      return;
    }
    next();
  };
  return [declaredLengthGuard(limit), mediaType, parse];
}

/** The auth steps the app provides to routes (they need the app's verifier and database). */
export interface AuthSteps {
  jwt: (req: Request, roles: ReadonlyArray<Principal['role']>) => Promise<void>;
  /**
   * Before the body is read: the `x-webhook-secret` check, or for a signed delivery its headers
   * (it then sets `res.locals.signedDelivery`, and the signature is checked once the body is read).
   */
  webhook: (req: Request, res: Response) => Promise<void>;
  /** The queue dashboard: an admin by bearer JWT or by its cookie (see dashboard.ts). */
  dashboard: (req: Request) => Promise<void>;
  /** A signed delivery's signature over the raw body bytes. */
  webhookSignature: (req: Request, res: Response, body: Buffer) => Promise<void>;
  /** Answers an authenticated webhook by running `process`, or with a signed delivery's first answer. */
  webhookDelivery: (req: Request, res: Response, route: { operation: string; waitMs: number }, process: () => Promise<Reply>) => Promise<Reply>;
}

/** The body steps of a route: a webhook route also takes signed deliveries. */
function bodyStepsOf(spec: RouteSpec, limit: number, auth: AuthSteps): RequestHandler[] {
  if (spec.auth !== 'webhook') return spec.body ? jsonBody(limit) : [];
  if (!spec.body) return [signedBody(limit, false, auth.webhookSignature)];
  const [lengthGuard, mediaType, parse] = jsonBody(limit);
  return [lengthGuard!, mediaType!, signedBody(limit, true, auth.webhookSignature), parse!];
}

/** Validates the request against the route's schemas, then runs its handler. */
async function runHandler(spec: RouteSpec, req: Request): Promise<Reply> {
  // Text Postgres cannot store is refused here, for every route and every field, with the rest.
  const problems = [...unstorableInput(req.params, 'path'), ...unstorableInput(req.query, 'query')];
  let body: unknown;
  const sent: unknown = req.body === undefined && spec.bodyOptional ? {} : req.body;
  if (spec.body && sent === undefined) {
    problems.push('body: must be a JSON object');
  } else if (spec.body) {
    problems.push(...unstorableInput(sent, 'body'), ...inexactNumberProblems(req));
    const parsed = spec.body.safeParse(sent, { error: friendlyErrors });
    if (parsed.success) body = parsed.data;
    else problems.push(...formatIssues(parsed.error.issues, 'body'));
  }
  const querySchema = spec.query ?? noQuerySchema;
  const query = querySchema.safeParse({ ...(req.query as Record<string, unknown>) }, { error: friendlyErrors });
  if (!query.success) problems.push(...formatIssues(query.error.issues, 'query'));
  if (problems.length > 0 || !query.success) throw new ApiError('VALIDATION_FAILED', problems);
  if (!spec.handler) throw new Error(`route ${spec.operationId} has no handler`);
  return spec.handler({ req, body, query: query.data, params: req.params as Record<string, string>, log: req.log });
}

/** Wires one route into an Express router. */
export function mountRoute(router: Router, spec: RouteSpec, deps: { auth: AuthSteps; defaultBodyLimit: number }): void {
  const limit = spec.bodyLimitBytes ?? deps.defaultBodyLimit;
  // Label and authenticate in one step (every Express layer costs a `next()` on the hot path).
  const check = async (req: Request, res: Response): Promise<void> => {
    res.locals.route = spec.path;
    req.log.setBindings({ route: spec.operationId });
    switch (spec.auth) {
      case 'public':
        break;
      case 'jwt':
        await deps.auth.jwt(req, ['partner', 'admin']);
        break;
      case 'partner':
        await deps.auth.jwt(req, ['partner']);
        break;
      case 'admin':
        await deps.auth.jwt(req, ['admin']);
        break;
      case 'feed':
        await deps.auth.jwt(req, ['admin', 'reader']);
        break;
      case 'dashboard':
        await deps.auth.dashboard(req);
        break;
      case 'webhook':
        await deps.auth.webhook(req, res);
        break;
    }
    // Routes without a JSON body accept (and ignore) a small one; JSON routes check it in jsonBody.
    if (!spec.body) checkDeclaredLength(req, limit);
  };
  // A refusal is answered here by the one error middleware, directly: handed to `next`, it
  // would first be offered to every later route of the router (a path match each, ~90 routes).
  const authenticate: RequestHandler = (req, res, next) => {
    check(req, res).then(
      () => next(),
      (err: unknown) => errorMiddleware(err, req, res, next),
    );
  };
  const handle: RequestHandler = async (req, res) => {
    const run = () => runHandler(spec, req);
    const route = { operation: spec.operationId, waitMs: spec.deliveryWaitMs ?? 0 };
    const reply = spec.auth === 'webhook' ? await deps.auth.webhookDelivery(req, res, route, run) : await run();
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.contentType !== undefined) {
      res.status(reply.status).type(reply.contentType).send(String(reply.body));
    } else {
      res.status(reply.status).json(reply.body);
    }
  };
  if (spec.mount) {
    router.use(expressPath(spec.path), authenticate, ...spec.mount);
    return;
  }
  // Authentication runs before the body is parsed: an anonymous caller cannot make us parse 64 KiB.
  router[spec.method](expressPath(spec.path), authenticate, ...bodyStepsOf(spec, limit, deps.auth), handle);
}
