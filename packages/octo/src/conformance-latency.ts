/**
 * The answer times marketplaces publish as their bar for a connected supplier, at the 90th
 * percentile: a catalog read within 10 s, an availability answer within 1 s.
 */
export const LATENCY_THRESHOLDS_MS = { catalog: 10_000, availability: 1_000 } as const;

/** One endpoint's answer times over the conformance check's calls, beside its threshold. */
export interface LatencyReport {
  calls: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  threshold_ms: number;
  /** The 90th percentile is within the threshold (the marketplaces' measure). */
  within_threshold: boolean;
}

/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The report of `samples` (ms), or null when there are none. */
export function latencyReport(samples: readonly number[], thresholdMs: number): LatencyReport | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const p90 = percentile(sorted, 90);
  return { calls: sorted.length, p50_ms: percentile(sorted, 50), p90_ms: p90, p99_ms: percentile(sorted, 99), threshold_ms: thresholdMs, within_threshold: p90 <= thresholdMs };
}
