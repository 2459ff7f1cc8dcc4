import { z } from 'zod';
import type { Db } from '@octo-sync/db';
import { listWorkers, type RedisConnection } from '@octo-sync/jobs';
import type { GatewayMetrics } from './metrics';
import type { OpenApiDocument } from './openapi';
import { OPENAPI_PATH } from './paths';
import { defineRoute, type RouteSpec } from './route';
import { liveSchema, readySchema } from './response-schemas';

export interface OpsRoutesDeps {
  db: Db;
  redis: RedisConnection;
  /** QUEUE_PREFIX, under which workers write their heartbeats. */
  queuePrefix: string;
  metrics: GatewayMetrics;
  /** Built on first use: it documents every route, including this one. */
  openapi: () => OpenApiDocument;
}

const OPS = ['Operations'];
/** How long readiness waits for each dependency before counting it down. */
const READY_TIMEOUT_MS = 2_000;
/** Seconds a probe or client should wait before asking again after a 503 (as API 503s say). */
const READY_RETRY_AFTER_S = '5';

/** Resolves 'ok' or 'down' within `ms`; a dependency that hangs counts as down. */
async function probe(what: () => Promise<unknown>, ms: number): Promise<{ state: 'ok' | 'down'; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([what(), timeout]);
    return { state: 'ok' };
  } catch (error) {
    return { state: 'down', error };
  } finally {
    clearTimeout(timer);
  }
}

/** Workers with a live heartbeat, or null when they cannot be counted now (Redis away). */
async function countWorkers(redis: RedisConnection, prefix: string, ms: number): Promise<number | null> {
  let count: number | null = null;
  const read = await probe(async () => {
    count = (await listWorkers(redis, prefix)).length;
  }, ms);
  return read.state === 'ok' ? count : null;
}

/** Liveness, readiness, metrics and the OpenAPI document: public, for probes and scrapers. */
export function opsRoutes(deps: OpsRoutesDeps): RouteSpec[] {
  const { metrics, openapi } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'live',
      summary: 'The process is alive',
      tags: OPS,
      auth: 'public',
      responses: { 200: { description: 'Alive.', schema: liveSchema } },
      handler: async () => ({ status: 200, body: { status: 'ok' } }),
    }),
    readyRoute(deps),
    defineRoute({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics (text exposition format)',
      tags: OPS,
      auth: 'public',
      responses: { 200: { description: 'Metrics.', schema: z.string(), contentType: 'text/plain' } },
      handler: async () => ({ status: 200, body: await metrics.registry.metrics(), contentType: metrics.registry.contentType }),
    }),
    defineRoute({
      method: 'get',
      path: OPENAPI_PATH,
      operationId: 'openapi',
      summary: 'This document (OpenAPI 3.1)',
      tags: OPS,
      auth: 'public',
      responses: { 200: { description: 'The OpenAPI document.', schema: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }) } },
      handler: async () => ({ status: 200, body: openapi() }),
    }),
  ];
}

/** 200 when Postgres and Redis answer in time, 503 otherwise; the live worker count rides along. */
function readyRoute({ db, redis, queuePrefix }: OpsRoutesDeps): RouteSpec {
  return defineRoute({
    method: 'get',
    path: '/readyz',
    operationId: 'ready',
    summary: 'Postgres and Redis are reachable',
    tags: OPS,
    auth: 'public',
    responses: {
      200: { description: 'Ready.', schema: readySchema },
      503: {
        description: 'Postgres or Redis is unreachable; `Retry-After` says when to ask again.',
        schema: readySchema,
        headers: { 'Retry-After': { description: 'Seconds to wait before asking again.', schema: { type: 'integer' } } },
      },
    },
    handler: async ({ log }) => {
      const [postgres, redisState, workers] = await Promise.all([
        probe(() => db.ping(), READY_TIMEOUT_MS),
        probe(() => redis.ping(), READY_TIMEOUT_MS),
        countWorkers(redis, queuePrefix, READY_TIMEOUT_MS),
      ]);
      const ready = postgres.state === 'ok' && redisState.state === 'ok';
      if (!ready) log.warn({ postgresError: postgres.error, redisError: redisState.error }, 'not ready');
      // Informational only: the queue is durable, so a worker deploy must not pull gateways out
      // of a load balancer.
      return {
        status: ready ? 200 : 503,
        body: { status: ready ? 'ok' : 'unavailable', checks: { postgres: postgres.state, redis: redisState.state }, workers },
        ...(ready ? {} : { headers: { 'Retry-After': READY_RETRY_AFTER_S } }),
      };
    },
  });
}
