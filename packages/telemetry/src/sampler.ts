import { isSpanContextValid, SpanKind, trace, type Attributes, type Context, type Link } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';
import type { SamplerName, TracingConfig } from './config';

/**
 * The kinds of span that may begin a trace: work coming in (an HTTP request, a job put on a
 * queue or taken from one). A Redis command, a Postgres statement or an internal step with no
 * parent (BullMQ's polling and stalled-job checks, heartbeats, lock renewals) begins none: it
 * would be a trace of one span every few seconds that explains nothing.
 */
const TRACE_STARTERS: ReadonlySet<SpanKind> = new Set([SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER]);

/**
 * Records only traces that start with work coming in; everything else follows `sampler`. With
 * the default (parent-based) a span with a valid parent does what its parent did: a job continues
 * what its enqueue decided, and a request continues its caller's `traceparent` (sampled: recorded,
 * not sampled: dropped), so a caller can ask for its requests to be traced (README, "Traces").
 */
class WorkStartSampler implements Sampler {
  constructor(private readonly sampler: Sampler) {}

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const parent = trace.getSpanContext(context);
    if ((parent === undefined || !isSpanContextValid(parent)) && !TRACE_STARTERS.has(kind)) return { decision: SamplingDecision.NOT_RECORD };
    return this.sampler.shouldSample(context, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `WorkStart{${this.sampler.toString()}}`;
  }
}

/** The rule for a trace that begins here. */
function rootSampler(name: SamplerName, ratio: number): Sampler {
  if (name.endsWith('always_on')) return new AlwaysOnSampler();
  if (name.endsWith('always_off')) return new AlwaysOffSampler();
  return new TraceIdRatioBasedSampler(ratio);
}

/** The configured standard sampler (by default parent-based, one trace in ten), behind the work-start rule. */
export function createSampler({ sampler, ratio }: Pick<TracingConfig, 'sampler' | 'ratio'>): Sampler {
  const root = rootSampler(sampler, ratio);
  return new WorkStartSampler(sampler.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root);
}
