import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { createJwtVerifier, signToken } from './auth';
import { loadGatewayConfig } from './config';
import { ApiError } from './errors';

const SECRET = 'unit-test-jwt-secret-0123456789';
const hs = loadGatewayConfig({ JWT_SECRET: SECRET }).jwt;

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return `${err.code} ${err.details.join(' ')}`;
    throw err;
  }
  return 'accepted';
}

describe('createJwtVerifier (HS256)', () => {
  const verify = createJwtVerifier(hs);

  test('accepts a token minted by signToken', () => {
    expect(verify(`Bearer ${signToken(hs, { role: 'admin', sub: 'ops-1', ttl: '5m' })}`)).toEqual({ sub: 'ops-1', role: 'admin' });
  });

  test.each([
    ['missing header', undefined, 'authorization: a Bearer token is required'],
    ['lower-case scheme with spaces', 'bearer abc', 'must be "Bearer <JWT>"'],
    ['expired', `Bearer ${jwt.sign({ sub: 'p', role: 'partner', exp: Math.floor(Date.now() / 1000) - 30 }, SECRET)}`, 'token has expired'],
    ['no exp', `Bearer ${jwt.sign({ sub: 'p', role: 'partner' }, SECRET)}`, 'exp claim'],
    ['HS384', `Bearer ${jwt.sign({ sub: 'p', role: 'partner' }, SECRET, { algorithm: 'HS384', expiresIn: 60 })}`, 'token is invalid'],
    ['not yet valid', `Bearer ${jwt.sign({ sub: 'p', role: 'partner' }, SECRET, { expiresIn: 600, notBefore: 120 })}`, 'not valid yet'],
  ])('%s → UNAUTHENTICATED', (_name, header, text) => {
    const r = reason(() => verify(header));
    expect(r).toMatch(/^UNAUTHENTICATED /);
    expect(r).toContain(text);
  });

  test('within the 5 s clock tolerance an expired token still passes', () => {
    const token = jwt.sign({ sub: 'p', role: 'partner', exp: Math.floor(Date.now() / 1000) - 2 }, SECRET);
    expect(verify(`Bearer ${token}`)).toEqual({ sub: 'p', role: 'partner' });
  });
});

describe('createJwtVerifier (RS256)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const settings = loadGatewayConfig({ JWT_PUBLIC_KEY: pem, JWT_ISSUER: 'https://idp.example.com', JWT_AUDIENCE: 'octo-sync' }).jwt;
  const verify = createJwtVerifier(settings);
  const claims = { sub: 'p', role: 'partner' };

  test('accepts RS256 with the right issuer and audience', () => {
    const token = jwt.sign(claims, privateKey, { algorithm: 'RS256', expiresIn: 60, issuer: 'https://idp.example.com', audience: 'octo-sync' });
    expect(verify(`Bearer ${token}`)).toEqual(claims);
  });

  test('rejects HS256 signed with the public key text (algorithm confusion) and a wrong audience', () => {
    const confused = jwt.sign(claims, pem, { algorithm: 'HS256', expiresIn: 60, issuer: 'https://idp.example.com', audience: 'octo-sync', allowInsecureKeySizes: true } as jwt.SignOptions);
    expect(reason(() => verify(`Bearer ${confused}`))).toMatch(/^UNAUTHENTICATED/);
    const wrongAud = jwt.sign(claims, privateKey, { algorithm: 'RS256', expiresIn: 60, issuer: 'https://idp.example.com', audience: 'other' });
    expect(reason(() => verify(`Bearer ${wrongAud}`))).toMatch(/^UNAUTHENTICATED/);
  });

  test('cannot mint tokens without an HS key', () => {
    expect(() => signToken(settings, { role: 'admin', sub: 'x', ttl: 60 })).toThrow(/HS\*/);
  });
});
