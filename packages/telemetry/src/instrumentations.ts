import type { IncomingMessage } from 'node:http';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';

/** Probes and scrapes: asked every few seconds, never the request anyone follows. */
const UNTRACED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * A Redis span names its command only: keys carry session and replay ids, and a script's
 * arguments carry job payloads, none of which belongs in a tracing backend.
 */
const commandOnly = (command: string) => command;

function untraced(request: IncomingMessage): boolean {
  return UNTRACED_PATHS.has((request.url ?? '').split('?')[0] ?? '');
}

/**
 * The ecosystem's own instrumentations of what the services use: HTTP in (and out), Express's
 * request handlers (not one span per middleware or router), ioredis, pg (Prisma's driver adapter
 * included: statements with placeholders, never parameter values) and undici (the supplier
 * client). Clients record spans only inside a trace.
 */
export function instrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({ ignoreIncomingRequestHook: untraced, requireParentforOutgoingSpans: true }),
    new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }),
    new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: commandOnly }),
    new PgInstrumentation({ requireParentSpan: true }),
    new UndiciInstrumentation({ requireParentforSpans: true }),
  ];
}
