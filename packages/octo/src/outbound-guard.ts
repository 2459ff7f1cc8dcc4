import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import { buildConnector } from 'undici';
import { allowanceHint, classifyAddress, hostPortKey } from './address-policy';
import { SupplierError } from './errors';
import type { OutboundConfig } from './outbound-config';

/*
 * The outbound rule (no request to a supplier may reach an internal address), checked at every
 * step: each hop's URL before it is requested, each name when it is resolved, and each socket once
 * it is connected. `allowed` holds the `host:port` keys an operator allowed explicitly.
 */

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/** The address a name-based refusal resolved to, so the connector can add the port-aware hint. */
const refusedAddresses = new WeakMap<SupplierError, string>();

function blockedError(host: string, address: string, viaName: boolean, hint = 'only public addresses can be reached'): SupplierError {
  const cls = classifyAddress(address);
  const message = viaName
    ? `connection to ${host} refused: it resolves to ${address}, which is ${cls} and not allowed; ${hint}`
    : `connection to ${address} refused: address is ${cls} and not allowed; ${hint}`;
  const error = new SupplierError('SUPPLIER_ADDRESS_BLOCKED', message);
  if (viaName) refusedAddresses.set(error, address);
  return error;
}

/** {@link blockedError} with the `OCTO_ALLOWED_HOSTS` entry that would allow `host:port`. */
function blockedWithHint(hostname: string, port: string | number, address: string, viaName: boolean, allowed: ReadonlySet<string>): SupplierError {
  const resolvedKey = hostPortKey(address, port);
  const hint = allowanceHint(hostPortKey(hostname, port), classifyAddress(address), viaName && allowed.has(resolvedKey) ? resolvedKey : undefined);
  return blockedError(hostname, address, viaName, hint);
}

/** Wrap a lookup so that a name resolving to any non-public address fails before connecting. */
export function guardedLookup(base: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (error, result, family) => {
      if (error) {
        callback(error, '');
        return;
      }
      const addresses: LookupAddress[] = Array.isArray(result) ? result : [{ address: result, family: family ?? (isIP(result) || 4) }];
      const bad = addresses.find((entry) => classifyAddress(entry.address) !== 'public');
      if (bad !== undefined) {
        callback(blockedError(hostname, bad.address, true), '');
        return;
      }
      const first = addresses[0];
      if (first === undefined) {
        const notFound: NodeJS.ErrnoException = new Error(`no addresses for ${hostname}`);
        notFound.code = 'ENOTFOUND';
        callback(notFound, '');
        return;
      }
      if (options.all === true) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

const systemLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, callback);
};

/**
 * Last line of defence: the address the socket really reached must be public too (the lookup
 * check cannot see a resolver that answers differently on the second query).
 */
export function checkConnectedSocket(socket: Pick<Socket, 'remoteAddress'>, hostname: string): SupplierError | undefined {
  const remote = socket.remoteAddress;
  const cls = remote === undefined ? 'unknown' : classifyAddress(remote);
  if (cls === 'public') return undefined;
  return new SupplierError(
    'SUPPLIER_ADDRESS_BLOCKED',
    `connection to ${hostname} refused: the connected address ${remote ?? '(unknown)'} is ${cls} and not allowed`,
  );
}

/**
 * The undici connector: literal IPs are checked before connecting, names through the guarded
 * lookup, and the connected socket's remote address once more (DNS rebinding, proxies in the
 * resolver). Allowed `host:port` entries bypass the address rule for that host only.
 */
export function createGuardedConnector(config: OutboundConfig, allowed: ReadonlySet<string>): buildConnector.connector {
  const tlsCa = config.tlsCa;
  const extraCa: ReadonlyArray<string | Buffer> = tlsCa === undefined ? [] : typeof tlsCa === 'string' || Buffer.isBuffer(tlsCa) ? [tlsCa] : tlsCa;
  const common = { timeout: config.connectTimeoutMs, ...(extraCa.length === 0 ? {} : { ca: [...rootCertificates, ...extraCa] }) };
  const strict = buildConnector({ ...common, lookup: guardedLookup(config.lookup ?? systemLookup) });
  const lenient = buildConnector({ ...common, ...(config.lookup === undefined ? {} : { lookup: config.lookup }) });
  return (options, callback) => {
    const port = options.port === '' ? defaultPort(options.protocol) : options.port;
    if (allowed.has(hostPortKey(options.hostname, port))) {
      lenient(options, callback);
      return;
    }
    if (isIP(options.hostname) !== 0 && classifyAddress(options.hostname) !== 'public') {
      callback(blockedWithHint(options.hostname, port, options.hostname, false, allowed), null);
      return;
    }
    strict(options, (error, socket) => {
      if (error !== null) {
        const address = error instanceof SupplierError ? refusedAddresses.get(error) : undefined;
        callback(address === undefined ? error : blockedWithHint(options.hostname, port, address, true, allowed), null);
        return;
      }
      const refused = checkConnectedSocket(socket, options.hostname);
      if (refused !== undefined) {
        socket.destroy();
        callback(refused, null);
        return;
      }
      callback(null, socket);
    });
  };
}

/** Outbound rules for one hop's URL; `redirect` decides which code a refusal carries. */
export function checkHopUrl(url: URL, redirect: boolean, allowInsecureHttp: boolean, allowed: ReadonlySet<string>): void {
  const label = redirect ? `supplier redirected to ${url.protocol}//${url.host}` : `base_url ${url.protocol}//${url.host}`;
  const code = redirect ? 'SUPPLIER_REDIRECT_REFUSED' : 'SUPPLIER_ADDRESS_BLOCKED';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowInsecureHttp)) {
    const why = url.protocol === 'http:' ? 'plain http is not allowed, use https' : 'only https URLs are followed';
    throw new SupplierError(code, `${label} refused: ${why}`);
  }
  if (url.username !== '' || url.password !== '') throw new SupplierError(code, `${label} refused: the URL contains credentials`);
  const bare = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? defaultPort(url.protocol) : url.port;
  if (isIP(bare) !== 0 && !allowed.has(hostPortKey(url.hostname, port)) && classifyAddress(bare) !== 'public') {
    throw blockedWithHint(bare, port, bare, false, allowed);
  }
}
