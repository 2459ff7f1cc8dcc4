import { classifyAddress, embeddedIPv4, hostPortKey, parseAllowedHosts, type AddressClass } from './address-policy';

describe('classifyAddress', () => {
  const table: Array<[string, AddressClass]> = [
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['93.184.216.34', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['100.128.0.1', 'public'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'cloud-metadata'],
    ['100.100.100.200', 'cloud-metadata'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fd00:ec2::254', 'cloud-metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'reserved'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001::1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'cloud-metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::a9fe:a9fe', 'cloud-metadata'],
    ['64:ff9b::192.168.0.1', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:0808:0808::1', 'public'],
    ['::127.0.0.1', 'reserved'],
    ['[::1]', 'loopback'],
    ['example.com', 'not an IP address'],
    ['256.1.1.1', 'not an IP address'],
    ['', 'not an IP address'],
  ];

  it.each(table)('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });
});

describe('embeddedIPv4', () => {
  it.each([
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::ffff:0102:0304', '1.2.3.4'],
    ['64:ff9b::0102:0304', '1.2.3.4'],
    ['2002:0102:0304::', '1.2.3.4'],
    ['2606:4700::1', undefined],
    ['1.2.3.4', undefined],
  ])('%s -> %s', (address, expected) => {
    expect(embeddedIPv4(address)).toBe(expected);
  });
});

describe('allowed hosts', () => {
  it('normalises host:port entries', () => {
    const { keys, problems } = parseAllowedHosts(['LocalHost:8080', '127.0.0.1:3000', '[0:0:0:0:0:0:0:1]:9000', 'octo.example.com.:443']);
    expect(problems).toEqual([]);
    expect([...keys]).toEqual(['localhost:8080', '127.0.0.1:3000', '[::1]:9000', 'octo.example.com:443']);
  });

  it('rejects entries without a valid port', () => {
    const { keys, problems } = parseAllowedHosts(['localhost', '::1:80', 'host:0', 'host:70000', 'ok:1']);
    expect([...keys]).toEqual(['ok:1']);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toContain('"localhost": must be host:port');
  });

  it('builds the same key from a URL host as from an entry', () => {
    const url = new URL('http://[::1]:9000/x');
    expect(hostPortKey(url.hostname, url.port)).toBe('[::1]:9000');
    expect(hostPortKey('::1', '9000')).toBe('[::1]:9000');
    expect(hostPortKey('Octo.Example.COM', 443)).toBe('octo.example.com:443');
  });
});
