import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

/** The pages' two homes: each has its own session cookie and its own mount of the API. */
export type Area = 'portal' | 'console';

/** The API document's schemas, as the pages read them. */
export type Schemas = components['schemas'];

/** The documented API, typed from the OpenAPI document (schema.d.ts), called through `/<area>/api`. */
export type Api = ReturnType<typeof createClient<paths>>;

/** Base path of the documented partner routes, as the typed client names them. */
export const BASE = '/api/v1/partner-integrations';

/** A refused call, with what the error envelope said (every field but the stack, which it never carries). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/**
 * The client for one area: the session cookie goes with every call (same origin), and every
 * state-changing call carries the CSRF token, which lives in memory only (never in storage).
 */
export function apiClient(area: Area, csrfToken: string): Api {
  const client = createClient<paths>({ baseUrl: `/${area}/api`, credentials: 'same-origin' });
  client.use({
    onRequest({ request }) {
      if (request.method !== 'GET' && request.method !== 'HEAD') request.headers.set('X-CSRF-Token', csrfToken);
      return request;
    },
  });
  return client;
}

interface Answered<B> {
  data?: B;
  error?: unknown;
  response: Response;
}

/** The success body of a call, or an `ApiError` with the error envelope's words. */
export async function answer<B>(call: Promise<Answered<B>>): Promise<B> {
  const { data, error, response } = await call;
  if (data !== undefined && response.ok) return data;
  throw errorOf(response.status, error);
}

/** An `ApiError` from an answer's status and its (possibly missing or non-JSON) error body. */
export function errorOf(status: number, body: unknown): ApiError {
  const envelope = body as Partial<Schemas['Error']> | undefined;
  const detail = Array.isArray(envelope?.error) && envelope.error.length > 0 ? envelope.error.join('; ') : envelope?.message;
  return new ApiError(status, detail ?? `The server answered ${status}`, envelope?.reason);
}

/**
 * The documented webhook routes as a supplier calls them (`/api/v1/…`, not under the area's mount):
 * they authenticate with the webhook secret, which no session holds, so the page asks for it.
 */
export function webhookClient(): Api {
  return createClient<paths>({ baseUrl: '', credentials: 'omit' });
}
