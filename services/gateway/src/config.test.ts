import { generateKeyPairSync } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { ConfigError } from '@octo-sync/platform';
import { DEV_JWT_SECRET, loadGatewayConfig } from './config';

describe('loadGatewayConfig', () => {
  test('defaults: HS256 with the development secret, flagged for a start-up warning', () => {
    const config = loadGatewayConfig({});
    expect(config).toMatchObject({
      databaseUrl: 'postgresql://postgres@127.0.0.1:5432/octo_sync',
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'octo-sync',
      port: 3000,
      allowInsecureOctoUrls: false,
      syncTriggerWaitMs: 20_000,
      notifyWaitMs: 2_000,
      webhookRateLimit: 120,
      bodyLimitBytes: 65_536,
      notifyBodyLimitBytes: 4_194_304,
      devDefaults: ['JWT_SECRET', 'SECRETS_KEY'],
    });
    expect(config.jwt.algorithms).toEqual(['HS256']);
    expect(config.jwt.verifyKey.type).toBe('secret');
  });

  test('one error names every bad variable and never echoes a value', () => {
    let error: unknown;
    try {
      loadGatewayConfig({ PORT: 'eighty', REDIS_URL: 'http://x', JWT_SECRET: 'tooshort', ALLOW_INSECURE_OCTO_URLS: 'maybe', SYNC_TRIGGER_WAIT_MS: '-1' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'REDIS_URL', 'JWT_SECRET', 'ALLOW_INSECURE_OCTO_URLS', 'SYNC_TRIGGER_WAIT_MS']) expect(message).toContain(name);
    expect(message).not.toContain('tooshort');
  });

  test('a public key selects RS256/ES256 by key type and no signing key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(loadGatewayConfig({ JWT_PUBLIC_KEY: rsa }).jwt).toMatchObject({ algorithms: ['RS256'], signKey: undefined });
    expect(loadGatewayConfig({ JWT_PUBLIC_KEY: ec.replace(/\n/g, '\\n') }).jwt.algorithms).toEqual(['ES256']);
    expect(loadGatewayConfig({ JWT_PUBLIC_KEY: rsa }).devDefaults).not.toContain('JWT_SECRET');
  });

  test('mixing HS with RS algorithms, RS without a key, or a bad key stops start-up', () => {
    expect(() => loadGatewayConfig({ JWT_ALGORITHMS: 'HS256,RS256' })).toThrow(/JWT_ALGORITHMS: must not mix/);
    expect(() => loadGatewayConfig({ JWT_ALGORITHMS: 'RS256' })).toThrow(/JWT_PUBLIC_KEY: is required/);
    expect(() => loadGatewayConfig({ JWT_ALGORITHMS: 'none' })).toThrow(/JWT_ALGORITHMS: unknown algorithm/);
    expect(() => loadGatewayConfig({ JWT_PUBLIC_KEY: 'not a key' })).toThrow(/JWT_PUBLIC_KEY: is not a PEM public key/);
    expect(DEV_JWT_SECRET.length).toBeGreaterThanOrEqual(16);
  });

  test('on a Redis Cluster, QUEUE_PREFIX must be a hash tag: refused at start-up, saying why', () => {
    expect(() => loadGatewayConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001' })).toThrow(/QUEUE_PREFIX: must be a hash tag such as \{octo-sync\}/);
    expect(loadGatewayConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000, 127.0.0.1:7001', QUEUE_PREFIX: '{octo-sync}' })).toMatchObject({ redisClusterNodes: ['127.0.0.1:7000', '127.0.0.1:7001'], queuePrefix: '{octo-sync}' });
    expect(loadGatewayConfig({}).redisClusterNodes).toEqual([]);
  });

  test('HOST: every interface by default, an address or host name when set, anything else refused', () => {
    expect(loadGatewayConfig({}).host).toBe('0.0.0.0');
    expect(loadGatewayConfig({ HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(loadGatewayConfig({ HOST: '::1' }).host).toBe('::1');
    expect(loadGatewayConfig({ HOST: 'gateway.internal' }).host).toBe('gateway.internal');
    expect(() => loadGatewayConfig({ HOST: 'http://127.0.0.1:3000' })).toThrow(/HOST: must be an IP address or a host name/);
  });

  test('the pages: sessions idle out after 30 minutes by default; their assets are web/ beside the bundle unless PAGES_DIR says', () => {
    const config = loadGatewayConfig({});
    expect(config.pageSessionIdleS).toBe(1800);
    // Beside the module that loads the config: here the sources, in the bundle dist/gateway.js, so
    // dist/web/, where scripts/build.mjs writes the pages.
    expect(relative(resolve(__dirname, '../../..'), config.pagesDir)).toBe(join('services', 'gateway', 'src', 'web'));
    expect(loadGatewayConfig({ PAGES_DIR: 'build/web', PAGE_SESSION_IDLE_S: '60' })).toMatchObject({ pagesDir: resolve('build/web'), pageSessionIdleS: 60 });
    expect(() => loadGatewayConfig({ PAGE_SESSION_IDLE_S: '10' })).toThrow(/PAGE_SESSION_IDLE_S/);
  });

  test('admission: shed heavy tenants past 5,000 queued availability jobs, everyone past 20,000; the hard limit is never below the first', () => {
    expect(loadGatewayConfig({}).admission).toEqual({ backlogLimit: 5000, hardLimit: 20000, windowMs: 60000 });
    expect(loadGatewayConfig({ ADMISSION_BACKLOG_LIMIT: '50', ADMISSION_BACKLOG_HARD_LIMIT: '50' }).admission).toMatchObject({ backlogLimit: 50, hardLimit: 50 });
    expect(() => loadGatewayConfig({ ADMISSION_BACKLOG_LIMIT: '100', ADMISSION_BACKLOG_HARD_LIMIT: '99' })).toThrow(/ADMISSION_BACKLOG_HARD_LIMIT: must not be below ADMISSION_BACKLOG_LIMIT/);
  });
});
