import type { Logger } from '@octo-sync/platform';

/** The longest a stop waits for its last spans: a collector that is down must not hold the exit. */
const FLUSH_LIMIT_MS = 2_500;
/** Left of the stop's budget for the exit itself. */
const EXIT_MARGIN_MS = 500;

/** Something that sends what it buffered, then stops: the tracer provider. */
interface Flushable {
  shutdown(): Promise<void>;
}

/**
 * Sends the spans still buffered for at most 2.5 s, or what is left of the stop's budget less
 * half a second, whichever is shorter. Spans that cannot be sent in that time (the collector is
 * down, refuses or is slow) are given up with a warning: they never make a stop fail.
 */
export async function flushTracing(provider: Flushable, log: Logger, budgetMs: number): Promise<void> {
  const limitMs = Math.max(0, Math.min(FLUSH_LIMIT_MS, budgetMs - EXIT_MARGIN_MS));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), limitMs);
  });
  const outcome = await Promise.race([provider.shutdown().then(() => 'sent' as const, (err: unknown) => err), late]);
  clearTimeout(timer);
  if (outcome === 'late') log.warn({ limitMs }, 'tracing: the last spans were not sent in time (is the collector down?); stopping without them');
  else if (outcome !== 'sent') log.warn({ err: outcome }, 'tracing: the last spans could not be sent; stopping without them');
}
