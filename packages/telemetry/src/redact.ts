import { SpanKind, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The job's return value, as JSON (BullMQ's `job completed` event): run counts today, anything tomorrow. */
const JOB_RESULT = 'bullmq.job.result';

/** A URL down to scheme, host and port: a path or query may carry a key (a Slack hook's path, a supplier's `?key=`). */
function origin(value: unknown): string | undefined {
  try {
    return new URL(String(value)).origin;
  } catch {
    // Not an absolute URL: nothing of it is kept.
    return undefined;
  }
}

/**
 * An outgoing call (undici, http) keeps where it went and nothing of its URL past the port: no
 * instrumentation of ours knows a path template for a partner's or a supplier's URL.
 */
function redactClientUrl(attributes: Attributes): void {
  for (const key of ['url.full', 'http.url']) {
    const kept = attributes[key] === undefined ? undefined : origin(attributes[key]);
    if (kept === undefined) delete attributes[key];
    else attributes[key] = kept;
  }
  for (const key of ['url.path', 'url.query', 'http.target']) delete attributes[key];
}

/** A request to the gateway keeps its path (the route with ids, no secret), never its query string. */
function redactServerUrl(attributes: Attributes): void {
  delete attributes['url.query'];
  const target = attributes['http.target'];
  if (typeof target === 'string') attributes['http.target'] = target.split('?')[0];
}

/**
 * Rewrites each ended span before any exporting processor sees it (list it first): URLs cut as
 * above, and BullMQ's job results dropped from its events. The spans are the SDK's own objects,
 * changed in place: a processor cannot return another span.
 */
export class RedactingSpanProcessor implements SpanProcessor {
  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (span.kind === SpanKind.CLIENT) redactClientUrl(span.attributes);
    if (span.kind === SpanKind.SERVER) redactServerUrl(span.attributes);
    for (const event of span.events) if (event.attributes !== undefined) delete event.attributes[JOB_RESULT];
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
