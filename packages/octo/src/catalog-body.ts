import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { asError } from '@octo-sync/platform';
import { SupplierError } from './errors';
import type { FetchOptions } from './outbound-config';

/*
 * What the client does with a 2xx answer to `GET /products`: read the whole catalog body (a
 * fetch), or only its status line and headers (a probe).
 */

/** A successful `GET /products` answer, unparsed. */
export interface FetchedBody {
  status: number;
  body: Buffer;
  bytes: number;
  /** SHA-256 (hex) of the raw bytes, computed while streaming. */
  digest: string;
  /** From sending the request to the last body byte, redirects included. */
  latencyMs: number;
  contentType?: string;
  /** OCTO's response headers, when sent (required by OCTO, often missing in practice). */
  octoHeaders: { octoCapabilities?: string; contentLanguage?: string; availableLanguages?: string };
}

/** A `GET /products` answered 2xx, of which only the status line and headers were read. */
export interface ProbedHeaders {
  status: number;
  /** From sending the request to the response headers, redirects included. */
  latencyMs: number;
  contentType?: string;
  /** The declared `Content-Length`, when there is one. */
  contentLength?: number;
}

/** A 2xx answer whose body has not been read yet, and what reading it needs. */
export interface OpenAnswer {
  response: Dispatcher.ResponseData;
  contentType: string | undefined;
  /** `performance.now()` when the first request was sent. */
  started: number;
  /** Maps an error met while reading the body (deadline, stall, lost connection). */
  fail: (error: unknown) => SupplierError;
}

/** The first value of a response header. */
export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Status and headers only: the body is dropped unread, which closes the connection. */
export async function dropBody({ response, contentType, started }: OpenAnswer): Promise<ProbedHeaders> {
  // Latency is to the headers: waiting for a first body chunk is not the supplier's answer time.
  const latencyMs = Math.round(performance.now() - started);
  // dump() with a 1-byte limit destroys a body that declares more at once (a chunked one after its
  // first chunk) and swallows the abort that destroying it causes.
  await response.body.dump({ limit: 1 });
  const declared = Number(firstHeader(response.headers['content-length']) ?? NaN);
  const probed: ProbedHeaders = { status: response.statusCode, latencyMs };
  if (contentType !== undefined) probed.contentType = contentType;
  if (Number.isSafeInteger(declared) && declared >= 0) probed.contentLength = declared;
  return probed;
}

/** The whole 2xx body, hashed while it streams in, within `maxBodyBytes`. */
export async function readCatalog({ response, contentType, started, fail }: OpenAnswer, maxBodyBytes: number, onProgress?: FetchOptions['onBodyProgress']): Promise<FetchedBody> {
  const { statusCode, body } = response;
  const declared = Number(firstHeader(response.headers['content-length']) ?? NaN);
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    await body.dump();
    throw tooLarge(declared, maxBodyBytes, true, statusCode);
  }
  const expected = Number.isSafeInteger(declared) ? declared : null;
  // The hook hears of the declared length before the buffer for it exists: it may refuse it.
  const refused = progressRefusal(onProgress, 0, expected);
  if (refused !== undefined) {
    // As dropBody does: closes the connection without reading the body, and swallows the abort.
    await body.dump({ limit: 1 });
    throw refused;
  }
  const hash = createHash('sha256');
  // With a declared length the body is copied into one buffer as it arrives, so the chunks
  // and their concatenation are never held at once; without one (or past it), chunks are
  // collected and joined at the end.
  let whole = Number.isSafeInteger(declared) && declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
  const chunks: Buffer[] = [];
  let bytes = 0;
  let stopped: Error | undefined;
  try {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      if (bytes + buffer.length > maxBodyBytes) {
        body.destroy();
        throw tooLarge(bytes + buffer.length, maxBodyBytes, false, statusCode);
      }
      hash.update(buffer);
      if (whole !== undefined && bytes + buffer.length > whole.length) {
        chunks.push(whole.subarray(0, bytes));
        whole = undefined;
      }
      if (whole === undefined) chunks.push(buffer);
      else buffer.copy(whole, bytes);
      bytes += buffer.length;
      stopped = progressRefusal(onProgress, bytes, expected);
      if (stopped !== undefined) break; // leaving the loop destroys the stream
    }
  } catch (error: unknown) {
    throw fail(error);
  }
  if (stopped !== undefined) throw stopped;
  const received = whole === undefined ? Buffer.concat(chunks, bytes) : bytes === whole.length ? whole : whole.subarray(0, bytes);
  const result: FetchedBody = {
    status: statusCode,
    body: received,
    bytes,
    digest: hash.digest('hex'),
    latencyMs: Math.round(performance.now() - started),
    octoHeaders: octoHeadersOf(response.headers),
  };
  if (contentType !== undefined) result.contentType = contentType;
  return result;
}

/** What the progress hook threw to stop the read (passed on as is, not as a transport error), if it did. */
function progressRefusal(onProgress: FetchOptions['onBodyProgress'], received: number, expected: number | null): Error | undefined {
  try {
    onProgress?.(received, expected);
    return undefined;
  } catch (error: unknown) {
    return asError(error);
  }
}

function octoHeadersOf(headers: Dispatcher.ResponseData['headers']): FetchedBody['octoHeaders'] {
  const octoCapabilities = firstHeader(headers['octo-capabilities']);
  const contentLanguage = firstHeader(headers['content-language']);
  const availableLanguages = firstHeader(headers['available-languages']);
  return {
    ...(octoCapabilities === undefined ? {} : { octoCapabilities }),
    ...(contentLanguage === undefined ? {} : { contentLanguage }),
    ...(availableLanguages === undefined ? {} : { availableLanguages }),
  };
}

function tooLarge(bytes: number, max: number, declared: boolean, status: number): SupplierError {
  const size = declared ? `declares ${bytes} bytes` : `exceeded ${max} bytes while streaming`;
  return new SupplierError('SUPPLIER_BODY_TOO_LARGE', `supplier's catalog ${size}, above the limit of ${max} bytes`, { status });
}
