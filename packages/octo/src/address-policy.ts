import { BlockList, isIP, isIPv4 } from 'node:net';

/**
 * What kind of address an IP is, from the point of view of the outbound SSRF rule (no request
 * to a supplier may reach an internal address). Only `public` may be connected to without an
 * explicit allowance.
 */
export type AddressClass =
  | 'public'
  | 'cloud-metadata'
  | 'loopback'
  | 'private'
  | 'shared (CGNAT)'
  | 'link-local'
  | 'multicast'
  | 'unspecified'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'
  | 'not an IP address';

type Rule = readonly [AddressClass, 'ipv4' | 'ipv6', string, number];

// Order matters: the first matching rule names the class (metadata before link-local, ...).
const RULES: readonly Rule[] = [
  ['cloud-metadata', 'ipv4', '169.254.169.254', 32], // AWS, GCP, Azure, OpenStack, DigitalOcean
  ['cloud-metadata', 'ipv4', '169.254.170.2', 32], // AWS ECS task metadata
  ['cloud-metadata', 'ipv4', '100.100.100.200', 32], // Alibaba Cloud
  ['cloud-metadata', 'ipv6', 'fd00:ec2::254', 128], // AWS IMDS over IPv6
  ['broadcast', 'ipv4', '255.255.255.255', 32],
  ['unspecified', 'ipv4', '0.0.0.0', 8], // "this network"
  ['private', 'ipv4', '10.0.0.0', 8],
  ['shared (CGNAT)', 'ipv4', '100.64.0.0', 10],
  ['loopback', 'ipv4', '127.0.0.0', 8],
  ['link-local', 'ipv4', '169.254.0.0', 16],
  ['private', 'ipv4', '172.16.0.0', 12],
  ['reserved', 'ipv4', '192.0.0.0', 24], // IETF protocol assignments
  ['documentation', 'ipv4', '192.0.2.0', 24],
  ['reserved', 'ipv4', '192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['private', 'ipv4', '192.168.0.0', 16],
  ['benchmarking', 'ipv4', '198.18.0.0', 15],
  ['documentation', 'ipv4', '198.51.100.0', 24],
  ['documentation', 'ipv4', '203.0.113.0', 24],
  ['multicast', 'ipv4', '224.0.0.0', 4],
  ['reserved', 'ipv4', '240.0.0.0', 4],
  ['unspecified', 'ipv6', '::', 128],
  ['loopback', 'ipv6', '::1', 128],
  ['reserved', 'ipv6', '::', 96], // IPv4-compatible (deprecated)
  ['reserved', 'ipv6', '64:ff9b:1::', 48], // local-use NAT64
  ['reserved', 'ipv6', '100::', 64], // discard-only
  ['reserved', 'ipv6', '2001::', 32], // Teredo: embeds an obfuscated IPv4
  ['benchmarking', 'ipv6', '2001:2::', 48],
  ['documentation', 'ipv6', '2001:db8::', 32],
  ['documentation', 'ipv6', '3fff::', 20],
  ['private', 'ipv6', 'fc00::', 7], // unique local
  ['link-local', 'ipv6', 'fe80::', 10],
  ['reserved', 'ipv6', 'fec0::', 10], // site-local (deprecated)
  ['multicast', 'ipv6', 'ff00::', 8],
];

const LISTS: ReadonlyArray<readonly [AddressClass, BlockList]> = RULES.map(([cls, family, network, prefix]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return [cls, list] as const;
});

/** Parse an IPv6 literal (no brackets, no zone) to 16 bytes, or undefined. */
function ipv6Bytes(address: string): Uint8Array | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address;
  const bytes = new Uint8Array(16);
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const lastPart = text.slice(lastColon + 1);
  if (isIPv4(lastPart)) {
    tail = lastPart.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? headGroups : [...headGroups, ...new Array<string>(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  if (groups.length !== 8) return undefined;
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

function v4FromBytes(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * For IPv6 forms that carry an IPv4 address the packet really goes to (IPv4-mapped
 * `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`), that IPv4 address.
 */
export function embeddedIPv4(address: string): string | undefined {
  const bytes = ipv6Bytes(address);
  if (bytes === undefined) return undefined;
  const zeroUntil = (n: number): boolean => bytes.subarray(0, n).every((b) => b === 0);
  if (zeroUntil(10) && bytes[10] === 0xff && bytes[11] === 0xff) return v4FromBytes(bytes, 12);
  const isNat64 = bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && bytes.subarray(4, 12).every((b) => b === 0);
  if (isNat64) return v4FromBytes(bytes, 12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return v4FromBytes(bytes, 2);
  return undefined;
}

/**
 * Classify an IP literal (IPv4 or IPv6, brackets and zone ids tolerated). IPv6 forms that embed
 * an IPv4 address are classified by that IPv4 address.
 */
export function classifyAddress(raw: string): AddressClass {
  let address = raw.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone);
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const v4 = embeddedIPv4(address);
    if (v4 !== undefined) return classifyAddress(v4);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [cls, list] of LISTS) {
    if (list.check(address, type)) return cls;
  }
  return 'public';
}

/**
 * Normalise an `allowedHosts` entry or a URL's host and port to the `host:port` key used for
 * matching: lower-case, IPv6 in brackets and compressed, port always present.
 */
export function hostPortKey(hostname: string, port: string | number): string {
  let host = hostname.trim().toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (isIP(host) === 6) {
    // The URL parser writes the compressed form, with brackets, as url.hostname does.
    host = URL.canParse(`http://[${host}]/`) ? new URL(`http://[${host}]/`).hostname : `[${host}]`;
  }
  return `${host}:${String(port)}`;
}

/**
 * Parse `allowedHosts` entries (`host:port`, `[v6]:port`) into normalised keys. Entries without
 * a port are rejected with a readable reason (an allowance is always for one port).
 */
export function parseAllowedHosts(entries: readonly string[]): { keys: Set<string>; problems: string[] } {
  const keys = new Set<string>();
  const problems: string[] = [];
  for (const entry of entries) {
    const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(entry.trim());
    const port = match === null ? NaN : Number(match[2]);
    if (match === null || match[1] === undefined || !(port >= 1 && port <= 65535)) {
      problems.push(`"${entry}": must be host:port (IPv6 as [addr]:port)`);
      continue;
    }
    keys.add(hostPortKey(match[1], port));
  }
  return { keys, problems };
}

/**
 * How an operator allows a refused supplier: the exact `OCTO_ALLOWED_HOSTS` entry (`entry`, the
 * host as written in base_url and its port). `allowedAs` is the entry under which the resolved
 * address is already allowed, when it is: allowing `127.0.0.1:3002` does not allow a base_url of
 * `localhost:3002`, because a partner's DNS could point its own name at an allowed address.
 * Cloud-metadata addresses are never worth allowing, so they get no hint.
 */
export function allowanceHint(entry: string, cls: AddressClass, allowedAs?: string): string {
  if (cls === 'cloud-metadata') return 'only public addresses can be reached';
  if (allowedAs !== undefined) {
    return `OCTO_ALLOWED_HOSTS allows ${allowedAs}, but entries match the host exactly as written in base_url, never the address it resolves to: add ${entry} to OCTO_ALLOWED_HOSTS`;
  }
  return `only public addresses can be reached, unless an operator adds ${entry} to OCTO_ALLOWED_HOSTS`;
}
