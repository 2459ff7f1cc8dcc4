import { createServer, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { AvailabilityBody, SlotCalendar } from './availability-calendar';
import {
  chooseLanguage,
  languageHeaders,
  localiseProduct,
  pricedSlots,
  pricingCurrency,
  unknownProductAnswer,
  type CurrencyMode,
  type LanguageMode,
  type UnknownProductStyle,
} from './supplier-modes';

/**
 * How the supplier misbehaves for the next requests (all routes), until `behave(null)` or until
 * `times` requests have been served that way.
 */
export type Misbehaviour = (
  | {
      /** Answer this status; `body` defaults to the reason phrase as plain text. */
      kind: 'status';
      status: number;
      body?: string;
      headers?: Record<string, string>;
    }
  /** Wait `ms` before sending anything, then answer normally. */
  | { kind: 'slowHeaders'; ms: number }
  /** Send headers and the first half of the body, stall `ms`, then send the rest. */
  | { kind: 'slowBody'; ms: number }
  /** Declare the full Content-Length, send half of the body, then destroy the socket. */
  | { kind: 'truncated' }
  /** Send truncated JSON with a correct Content-Length. */
  | { kind: 'invalidJson' }
  /** Send `bytes` bytes of valid JSON, declared in Content-Length or chunked. */
  | { kind: 'oversized'; bytes: number; withContentLength: boolean }
  /** Redirect (302 by default) to `location`. */
  | { kind: 'redirect'; location: string; status?: number }
  /** Destroy the socket without answering. */
  | { kind: 'hangUp' }
  /**
   * Send headers (full Content-Length), then `chunkBytes` (default 1) of the body every
   * `intervalMs` until it is all sent or the client goes away: a slowloris, or a big supplier
   * streaming steadily.
   */
  | { kind: 'trickle'; intervalMs: number; chunkBytes?: number }
) & { times?: number };

/** One request the supplier received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** `Date.now()` when it arrived. */
  at: number;
  /** Bytes written to the socket for this answer (headers included); set when the answer closes. */
  bytesSent?: number;
  /** Set when the answer closes: true when it was sent in full, false when the client left first. */
  completed?: boolean;
  /** Set when the answer closes: the status it was answered with. */
  status?: number;
}

/** A running local OCTO supplier. */
export interface TestSupplier {
  /** `http://127.0.0.1:PORT` (`https://` when started with `tls`). */
  url: string;
  /** `127.0.0.1:PORT`, for OCTO_ALLOWED_HOSTS. */
  hostPort: string;
  port: number;
  /** Serve this catalog (as compact JSON) from `GET /products`. */
  setCatalog(products: unknown[]): void;
  /**
   * Re-key a product of the catalog set by `setCatalog`, as suppliers do: the product `from` is
   * served as `to` from now on, all else (its reference, options and units) as it was.
   */
  rekeyProduct(from: string, to: string): void;
  /** Serve a different catalog on every `GET /products`: `make(n)` for the n-th one from now (1, 2, ...). */
  setChangingCatalog(make: (n: number) => unknown[]): void;
  /** Serve these exact bytes from `GET /products` (content type defaults to application/json). */
  setRawBody(body: string | Buffer, contentType?: string): void;
  /** Serve `POST /availability` from this calendar (changes to it show in the next answers). */
  setAvailability(calendar: SlotCalendar): void;
  /** Answer per language from now on (see {@link LanguageMode}); `null`: one unnamed language, no language headers. */
  setLanguages(mode: LanguageMode | null): void;
  /** Price availability per currency from now on (see {@link CurrencyMode}); `null`: slots without prices. */
  setCurrencies(mode: CurrencyMode | null): void;
  /** Answer unknown product ids in this style from now on (see {@link UnknownProductStyle}). */
  setUnknownProductStyle(style: UnknownProductStyle): void;
  /** Send this `Octo-Capabilities` header with every answer from now on; `null` (the default): none. */
  setCapabilities(header: string | null): void;
  /** Misbehave on the next requests, see {@link Misbehaviour}; `null` restores normal service. */
  behave(b: Misbehaviour | null): void;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[];
  /** Resolve once at least `n` requests have arrived in total; reject after `timeoutMs` (30000). */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  /**
   * The next `GET /products` waits (no headers sent) until released. Wait for it to arrive with
   * `waitForRequests`. Releasing before it arrives cancels the hold.
   */
  hold(): { release(): void };
  /**
   * As {@link hold}, for the next request of `method` whose path ends in `pathSuffix` (e.g.
   * `POST /availability`, whose answer is then read from the calendar when released).
   */
  holdRoute(method: string, pathSuffix: string): { release(): void };
  /** Stop listening, drop open connections, cancel timers and holds. */
  close(): Promise<void>;
}

/** Options of {@link startTestSupplier}. */
export interface TestSupplierOptions {
  /** Initial catalog (default: empty array). */
  catalog?: unknown[];
  /** Served by `GET /supplier`. */
  supplier?: Record<string, unknown>;
  /** Serve https with this key and certificate instead of plain http. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Answer per language (default: none), see {@link LanguageMode}. */
  languages?: LanguageMode;
  /** Price availability per currency (default: no prices), see {@link CurrencyMode}. */
  currencies?: CurrencyMode;
  /** How unknown product ids are answered (default `octo`), see {@link UnknownProductStyle}. */
  unknownProducts?: UnknownProductStyle;
}

interface Hold {
  method: string;
  pathSuffix: string;
  released: boolean;
  wake: () => void;
  promise: Promise<void>;
}

interface Waiter {
  n: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

function octoError(error: string, errorMessage: string): string {
  return JSON.stringify({ error, errorMessage });
}

/**
 * Start a node:http OCTO supplier on 127.0.0.1 and a random port. It serves `GET /products`
 * (any path ending in `/products`, so redirects to another prefix work), `GET /products/:id` and
 * `GET /supplier`, records every request, and can misbehave on demand.
 */
export async function startTestSupplier(options: TestSupplierOptions = {}): Promise<TestSupplier> {
  let body: Buffer = Buffer.from(JSON.stringify(options.catalog ?? []));
  let contentType = 'application/json';
  let products: unknown[] | undefined = options.catalog ?? [];
  let misbehaviour: Misbehaviour | null = null;
  let calendar: SlotCalendar | undefined;
  let changing: { make: (n: number) => unknown[]; served: number } | undefined;
  let languages = options.languages ?? null;
  // Each route's body per language, built once from what is served now, as a supplier serves a
  // cached answer: cleared whenever the catalog's bytes, its source or the languages change.
  const localisedBodies = new Map<string, Buffer>();
  let currencies = options.currencies ?? null;
  let unknownProducts = options.unknownProducts ?? 'octo';
  let capabilities: string | null = null;
  let remaining = Infinity;
  const requests: RecordedRequest[] = [];
  const waiters = new Set<Waiter>();
  const holds: Hold[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let closed = false;

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  function takeMisbehaviour(): Misbehaviour | null {
    if (misbehaviour === null) return null;
    const current = misbehaviour;
    remaining--;
    if (remaining <= 0) misbehaviour = null;
    return current;
  }

  function sendBody(res: ServerResponse, payload: Buffer, type: string, status = 200, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': type, 'content-length': String(payload.length), ...(capabilities === null ? {} : { 'octo-capabilities': capabilities }), ...headers });
    res.end(payload);
  }

  /** An answer in the language the request asks for, when the supplier speaks several. */
  function sendLocalised(req: IncomingMessage, res: ServerResponse, route: string, content: unknown, raw: Buffer, type = contentType): void {
    if (languages === null) {
      sendBody(res, raw, type);
      return;
    }
    const language = chooseLanguage(languages, req.headers['accept-language']);
    const mode = languages;
    const key = `${language} ${route}`;
    let localised = localisedBodies.get(key);
    if (localised === undefined) {
      localised = content === undefined ? raw : Buffer.from(JSON.stringify(Array.isArray(content) ? content.map((p) => localiseProduct(mode, p, language)) : localiseProduct(mode, content, language)));
      localisedBodies.set(key, localised);
    }
    sendBody(res, localised, type, 200, languageHeaders(mode, language));
  }

  function serveAvailability(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: AvailabilityBody;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AvailabilityBody;
      } catch {
        sendBody(res, Buffer.from(octoError('BAD_REQUEST', 'the body is not JSON')), 'application/json', 400);
        return;
      }
      const slots = calendar?.answer(body) ?? [];
      const currency = currencies === null ? null : pricingCurrency(currencies, body.currency);
      if (currency !== null && typeof currency !== 'string') {
        sendBody(res, Buffer.from(currency.body), currency.contentType, currency.status);
        return;
      }
      sendBody(res, Buffer.from(JSON.stringify(currency === null ? slots : pricedSlots(slots, currency))), 'application/json');
    });
  }

  function serveNormally(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method === 'POST' && path.endsWith('/availability')) {
      serveAvailability(req, res);
      return;
    }
    if (req.method !== 'GET') {
      sendBody(res, Buffer.from(octoError('BAD_REQUEST', 'only GET is supported')), 'application/json', 405);
      return;
    }
    if (path === '/supplier' || path.endsWith('/supplier')) {
      const supplier = options.supplier ?? { id: 'test-supplier', name: 'Test Supplier', endpoint: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`, contact: {} };
      sendBody(res, Buffer.from(JSON.stringify(supplier)), 'application/json');
      return;
    }
    if (path.endsWith('/products')) {
      const served = changing === undefined ? products : changing.make(++changing.served);
      if (changing !== undefined) {
        body = Buffer.from(JSON.stringify(served));
        localisedBodies.clear();
      }
      sendLocalised(req, res, '/products', served, body);
      return;
    }
    const match = /\/products\/([^/]+)$/.exec(path);
    if (match?.[1] !== undefined) {
      const id = decodeURIComponent(match[1]);
      const product = products?.find((p) => typeof p === 'object' && p !== null && (p as { id?: unknown }).id === id);
      if (product === undefined) {
        const answer = unknownProductAnswer(unknownProducts, id);
        sendBody(res, Buffer.from(answer.body), answer.contentType, answer.status);
      } else sendLocalised(req, res, `/products/${id}`, product, Buffer.from(JSON.stringify(product)), 'application/json');
      return;
    }
    sendBody(res, Buffer.from(octoError('NOT_FOUND', `no route ${path}`)), 'application/json', 404);
  }

  function misbehave(b: Misbehaviour, req: IncomingMessage, res: ServerResponse, path: string): void {
    switch (b.kind) {
      case 'status': {
        const text = b.body ?? STATUS_CODES[b.status] ?? 'error';
        const type = text.trimStart().startsWith('{') ? 'application/json' : 'text/plain; charset=utf-8';
        res.writeHead(b.status, { 'content-type': type, 'content-length': String(Buffer.byteLength(text)), ...b.headers });
        res.end(text);
        return;
      }
      case 'slowHeaders':
        later(b.ms, () => serveNormally(req, res, path));
        return;
      case 'slowBody': {
        const half = Math.max(1, Math.floor(body.length / 2));
        res.writeHead(200, { 'content-type': contentType, 'content-length': String(body.length) });
        res.write(body.subarray(0, half));
        later(b.ms, () => res.end(body.subarray(half)));
        return;
      }
      case 'truncated': {
        const half = Math.max(1, Math.floor(body.length / 2));
        res.writeHead(200, { 'content-type': contentType, 'content-length': String(body.length) });
        res.write(body.subarray(0, half), () => req.socket.destroy());
        return;
      }
      case 'invalidJson': {
        const broken = Buffer.from('[{"id":"p1","options":[{"id":"DEFAULT","units":[{"id":"adult"');
        sendBody(res, broken, 'application/json');
        return;
      }
      case 'oversized':
        streamOversized(res, b.bytes, b.withContentLength);
        return;
      case 'redirect':
        res.writeHead(b.status ?? 302, { location: b.location, 'content-length': '0' });
        res.end();
        return;
      case 'hangUp':
        req.socket.destroy();
        return;
      case 'trickle':
        trickle(res, b.intervalMs, b.chunkBytes ?? 1);
        return;
    }
  }

  function trickle(res: ServerResponse, intervalMs: number, chunkBytes: number): void {
    const payload = body;
    res.writeHead(200, { 'content-type': contentType, 'content-length': String(payload.length) });
    let sent = 0;
    const next = (): void => {
      if (res.destroyed || closed) return;
      const piece = payload.subarray(sent, sent + chunkBytes);
      sent += piece.length;
      if (sent >= payload.length) res.end(piece);
      else res.write(piece, () => later(intervalMs, next));
    };
    next();
  }

  /** `[` + spaces + `]`: valid JSON of exactly `bytes` bytes, written respecting backpressure. */
  function streamOversized(res: ServerResponse, bytes: number, withContentLength: boolean): void {
    const total = Math.max(2, bytes);
    res.writeHead(200, { 'content-type': 'application/json', ...(withContentLength ? { 'content-length': String(total) } : {}) });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (!res.destroyed && sent < total) {
        const size = Math.min(chunk.length, total - sent);
        const piece = Buffer.from(chunk.subarray(0, size));
        if (sent === 0) piece[0] = 0x5b; // [
        if (sent + size === total) piece[size - 1] = 0x5d; // ]
        sent += size;
        if (sent === total) {
          res.end(piece);
          return;
        }
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  }

  function holdNext(method: string, pathSuffix: string): { release(): void } {
    let wake: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const entry: Hold = { method, pathSuffix, released: false, wake, promise };
    holds.push(entry);
    return {
      release() {
        entry.released = true;
        const index = holds.indexOf(entry);
        if (index !== -1) holds.splice(index, 1);
        entry.wake();
      },
    };
  }

  const listener: RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, at: Date.now() };
    requests.push(recorded);
    const socket = req.socket;
    const writtenBefore = socket.bytesWritten;
    res.on('close', () => {
      recorded.bytesSent = socket.bytesWritten - writtenBefore;
      recorded.completed = res.writableFinished;
      recorded.status = res.statusCode;
    });
    for (const waiter of waiters) {
      if (requests.length >= waiter.n) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
    const respond = (): void => {
      if (res.destroyed || closed) return;
      const b = takeMisbehaviour();
      if (b === null) serveNormally(req, res, path);
      else misbehave(b, req, res, path);
    };
    const index = holds.findIndex((h) => h.method === req.method && path.endsWith(h.pathSuffix));
    const hold = index === -1 ? undefined : holds.splice(index, 1)[0];
    if (hold === undefined || hold.released) respond();
    else void hold.promise.then(respond);
  };
  const server: Server = options.tls === undefined ? createServer(listener) : createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Tests provoke client aborts on purpose; a reset socket is not a server failure.
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const serveCatalog = (next: unknown[]) => {
    const nextBody = Buffer.from(JSON.stringify(next));
    // The same catalog again keeps its languages' bodies (compared by content: a caller may have
    // edited it in place); not those of raw bytes or of a changing catalog (no catalog is set then).
    if (products === undefined || !nextBody.equals(body)) localisedBodies.clear();
    changing = undefined;
    products = next;
    body = nextBody;
    contentType = 'application/json';
  };

  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    port,
    requests,
    setCatalog: serveCatalog,
    rekeyProduct(from, to) {
      const current = products ?? [];
      if (!current.some((p) => (p as { id?: unknown }).id === from)) throw new Error(`test supplier: no product ${from} to re-key`);
      serveCatalog(current.map((p) => ((p as { id?: unknown }).id === from ? { ...(p as object), id: to } : p)));
    },
    setChangingCatalog(make) {
      localisedBodies.clear();
      changing = { make, served: 0 };
      products = undefined;
      contentType = 'application/json';
    },
    setRawBody(next, type = 'application/json') {
      localisedBodies.clear();
      changing = undefined;
      products = undefined;
      body = typeof next === 'string' ? Buffer.from(next) : next;
      contentType = type;
    },
    setAvailability(next) {
      calendar = next;
    },
    setLanguages(mode) {
      localisedBodies.clear();
      languages = mode;
    },
    setCurrencies(mode) {
      currencies = mode;
    },
    setUnknownProductStyle(style) {
      unknownProducts = style;
    },
    setCapabilities(header) {
      capabilities = header;
    },
    behave(b) {
      misbehaviour = b;
      remaining = b?.times ?? Infinity;
    },
    waitForRequests(n, timeoutMs = 30_000) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`test supplier: expected ${n} requests within ${timeoutMs} ms, got ${requests.length}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    hold: () => holdNext('GET', '/products'),
    holdRoute: holdNext,
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const hold of holds.splice(0)) hold.wake();
      for (const waiter of waiters) waiter.reject(new Error(`test supplier closed while waiting for ${waiter.n} requests (got ${requests.length})`));
      waiters.clear();
      const stopped = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}
