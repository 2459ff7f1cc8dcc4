export { loadTracingConfig, type TracingConfig, type SamplerName } from './config';
export { startTracing, startTracingFromEnv, type Tracing, type TracingOptions } from './tracing';
