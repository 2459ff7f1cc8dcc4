// Preloaded into the benchmarked worker (`node --import`, see worker-process.ts), so the worker's
// own code stays as it ships: samples the event loop's delay for the whole life of the process
// and, on each SIGUSR2, writes what it saw since the previous report as one JSON line to fd 3 (a
// pipe the benchmark opened), then starts over. A signal handler does not keep the process alive.
import { writeSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

// Node's default and coarsest allowed by the benchmark: the timer that samples fires this often.
const RESOLUTION_MS = 10;
const REPORT_FD = 3;

const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();

// The histogram holds the time between two samples (nanoseconds), which is the resolution
// itself on an idle loop: the delay is what exceeds it.
const delayMs = (nanoseconds) => Math.max(0, nanoseconds / 1e6 - RESOLUTION_MS);

process.on('SIGUSR2', () => {
  const report = {
    resolutionMs: RESOLUTION_MS,
    samples: histogram.count,
    p50Ms: delayMs(histogram.percentile(50)),
    p99Ms: delayMs(histogram.percentile(99)),
    maxMs: delayMs(histogram.max),
  };
  histogram.reset();
  writeSync(REPORT_FD, `${JSON.stringify(report)}\n`);
});
