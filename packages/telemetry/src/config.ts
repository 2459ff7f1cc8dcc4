import { ConfigError } from '@octo-sync/platform';

/** The sampler names of the OpenTelemetry specification (`OTEL_TRACES_SAMPLER`). */
const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

export type SamplerName = (typeof SAMPLERS)[number];

/** The tracing variables of one process, parsed (both services share them). */
export interface TracingConfig {
  /** Where spans are sent (OTLP/HTTP), or null: tracing is off. */
  tracesUrl: string | null;
  sampler: SamplerName;
  /** The ratio samplers' share of the traces that start in this process (0–1). */
  ratio: number;
}

/** One request in ten is traced unless `OTEL_TRACES_SAMPLER_ARG` says otherwise. */
const DEFAULT_TRACE_RATIO = 0.1;

type Env = Record<string, string | undefined>;

/** A variable's value, empty meaning unset (as every other variable of the services). */
function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function httpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    // Not a URL at all: reported by the caller, without the value.
    return false;
  }
}

/** The traces endpoint: the traces variable as given, else the base endpoint's `/v1/traces` (the OTLP rule). */
function tracesUrl(env: Env, problems: string[]): string | null {
  if (read(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return null;
  const traces = read(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = read(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const [name, url] = traces !== undefined ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces] : ['OTEL_EXPORTER_OTLP_ENDPOINT', base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`];
  if (url === undefined) return null;
  if (httpUrl(url)) return url;
  problems.push(`${name}: must be an http or https URL`);
  return null;
}

/**
 * Reads the standard OpenTelemetry variables this service honours itself; the exporter reads
 * the rest (`OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT`, `…_COMPRESSION`, `OTEL_BSP_*`,
 * `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`). Throws one {@link ConfigError} naming every
 * bad variable, never its value.
 */
export function loadTracingConfig(env: Env): TracingConfig {
  const problems: string[] = [];
  const url = tracesUrl(env, problems);
  const sampler = read(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase() ?? 'parentbased_traceidratio';
  if (!(SAMPLERS as readonly string[]).includes(sampler)) problems.push(`OTEL_TRACES_SAMPLER: must be one of ${SAMPLERS.join(', ')}`);
  const arg = read(env, 'OTEL_TRACES_SAMPLER_ARG');
  const ratio = arg === undefined ? DEFAULT_TRACE_RATIO : Number(arg);
  if (!(ratio >= 0 && ratio <= 1)) problems.push('OTEL_TRACES_SAMPLER_ARG: must be a number from 0 to 1');
  if (problems.length > 0) throw new ConfigError(problems);
  return { tracesUrl: url, sampler: sampler as SamplerName, ratio };
}
