import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { allowanceHint, parseAllowedHosts } from './address-policy';
import { SupplierError } from './errors';
import type { OutboundConfig } from './outbound-config';
import { createGuardedConnector, guardedLookup } from './outbound-guard';

function resolving(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    expect(options.all).toBe(true); // the guard always asks for every address
    callback(null, addresses);
  };
}

function run(lookup: LookupFunction, all: boolean): Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve) => {
    lookup('octo.example.test', { all }, (error, address, family) => resolve({ error, address, ...(family === undefined ? {} : { family }) }));
  });
}

describe('guardedLookup', () => {
  it('passes public answers through in both callback forms', async () => {
    const guarded = guardedLookup(resolving([{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }]));
    expect(await run(guarded, true)).toEqual({ error: null, address: [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }] });
    expect(await run(guarded, false)).toEqual({ error: null, address: '93.184.216.34', family: 4 });
  });

  it('refuses the name when ANY address is not public (happy eyeballs may pick any)', async () => {
    for (const bad of ['127.0.0.1', '10.0.0.1', '::ffff:169.254.169.254', 'fd00:ec2::254']) {
      const { error } = await run(guardedLookup(resolving([{ address: '93.184.216.34', family: 4 }, { address: bad, family: bad.includes(':') ? 6 : 4 }])), false);
      expect(error).toBeInstanceOf(SupplierError);
      expect(error).toMatchObject({ code: 'SUPPLIER_ADDRESS_BLOCKED' });
      expect(error?.message).toContain(`octo.example.test refused: it resolves to ${bad}`);
    }
  });

  it('passes resolver errors through and treats an empty answer as not found', async () => {
    const notFound: NodeJS.ErrnoException = Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    const failing: LookupFunction = (_h, _o, callback) => callback(notFound, '');
    expect((await run(guardedLookup(failing), true)).error).toBe(notFound);
    expect((await run(guardedLookup(resolving([])), true)).error).toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('refusals name the OCTO_ALLOWED_HOSTS entry to add', () => {
  const config: OutboundConfig = {
    allowedHosts: ['127.0.0.1:3002'],
    allowInsecureHttp: true,
    capabilities: 'octo/pricing',
    userAgent: 'test',
    connectTimeoutMs: 1000,
    headersTimeoutMs: 1000,
    stallTimeoutMs: 1000,
    totalTimeoutMs: 1000,
    maxBodyBytes: 1024,
    maxRedirects: 0,
    // Never reaches a socket: the guard refuses the answer first.
    lookup: (_hostname, options, callback) => {
      if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    },
  };
  const connect = (hostname: string, port: string): Promise<Error | null> =>
    new Promise((resolve) => {
      const connector = createGuardedConnector(config, parseAllowedHosts(config.allowedHosts).keys);
      connector({ hostname, host: `${hostname}:${port}`, protocol: 'http:', port, servername: '', localAddress: null, httpSocket: undefined }, (error, socket) => {
        socket?.destroy();
        resolve(error);
      });
    });

  it('localhost:3002 refused while 127.0.0.1:3002 is allowed: add localhost:3002', async () => {
    const error = await connect('localhost', '3002');
    expect(error).toMatchObject({ code: 'SUPPLIER_ADDRESS_BLOCKED' });
    expect(error?.message).toBe(
      'connection to localhost refused: it resolves to 127.0.0.1, which is loopback and not allowed; OCTO_ALLOWED_HOSTS allows 127.0.0.1:3002, ' +
        'but entries match the host exactly as written in base_url, never the address it resolves to: add localhost:3002 to OCTO_ALLOWED_HOSTS',
    );
  });

  it('on another port the resolved address is not allowed either, and the hint names that port', async () => {
    const error = await connect('localhost', '3003');
    expect(error?.message).toContain('only public addresses can be reached, unless an operator adds localhost:3003 to OCTO_ALLOWED_HOSTS');
  });

  it('a literal address names itself as the entry; cloud metadata gets no hint', async () => {
    expect((await connect('10.0.0.7', '8080'))?.message).toContain('unless an operator adds 10.0.0.7:8080 to OCTO_ALLOWED_HOSTS');
    const metadata = await connect('169.254.169.254', '80');
    expect(metadata?.message).toBe('connection to 169.254.169.254 refused: address is cloud-metadata and not allowed; only public addresses can be reached');
  });
});

describe('allowanceHint', () => {
  it('names the entry exactly as the host is written, with its port', () => {
    expect(allowanceHint('octo.local:8443', 'private')).toBe('only public addresses can be reached, unless an operator adds octo.local:8443 to OCTO_ALLOWED_HOSTS');
    expect(allowanceHint('localhost:3002', 'loopback', '127.0.0.1:3002')).toContain('add localhost:3002 to OCTO_ALLOWED_HOSTS');
  });
});
