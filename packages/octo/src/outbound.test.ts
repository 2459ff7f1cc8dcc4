import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { SupplierError } from './errors';
import { guardedLookup } from './outbound';

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
