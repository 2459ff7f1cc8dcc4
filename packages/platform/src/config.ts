import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError } from './errors';

/**
 * Parse an environment against a zod object schema. On failure throws one {@link ConfigError}
 * that names every bad variable and why, and never echoes a value (it may be a secret).
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  // Empty strings mean "unset" so that `FOO= npm start` falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new ConfigError(problems);
}

/**
 * The development value of SECRETS_KEY. Gateway and worker must share it (one encrypts supplier
 * keys, the other decrypts them), so it lives here, once; each process warns while it is in use.
 */
export const DEV_SECRETS_KEY = 'dev-only-secrets-key-change-me';

/** Building blocks for the per-process schemas: each turns an env string into a typed value. */
export const env = {
  string: (fallback: string) => z.string().min(1).default(fallback),
  optionalString: () => z.string().min(1).optional(),
  int: (fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) =>
    z.coerce
      .number({ error: 'must be an integer' })
      .int('must be an integer')
      .min(min, `must be >= ${min}`)
      .max(max, `must be <= ${max}`)
      .default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
      .transform((v) => v === 'true' || v === '1')
      .default(fallback),
  url: (fallback: string, protocols: readonly string[]) =>
    z
      .string()
      .default(fallback)
      .refine((value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      }, `must be a URL starting with ${protocols.join(' or ')}//`),
  list: () =>
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean),
      )
      .default([]),
  /** An address to listen on: an IPv4 or IPv6 literal, or a host name the resolver knows. */
  host: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .refine((value) => isIP(value) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(value), 'must be an IP address or a host name'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  logFormat: () => z.enum(['auto', 'json', 'pretty']).default('auto'),
};
