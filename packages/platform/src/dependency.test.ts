import { connectionFailureCode, dependencyTarget, withoutCredentials } from './dependency';

describe('naming a backing service without its credentials', () => {
  it('drops the user name and the password, and keeps where it is', () => {
    expect(withoutCredentials('postgresql://octo:s3cret@db.internal:5433/octo_sync?sslmode=require')).toBe('postgresql://db.internal:5433/octo_sync?sslmode=require');
    expect(withoutCredentials('redis://:s3cret@127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(withoutCredentials('rediss://default:s3cret@cache.example:6380/2')).toBe('rediss://cache.example:6380/2');
  });

  it('never echoes a value that is not a URL', () => {
    expect(withoutCredentials('octo:s3cret@nowhere')).not.toContain('s3cret');
  });

  it('says which variable, where, and how to get one', () => {
    expect(dependencyTarget('postgres', 'DATABASE_URL', 'postgresql://postgres:pw@127.0.0.1:5999/octo_sync')).toEqual({
      service: 'postgres',
      variable: 'DATABASE_URL',
      url: 'postgresql://127.0.0.1:5999/octo_sync',
      hint: 'start one with `docker compose up -d postgres redis`, or set DATABASE_URL to one that is running',
    });
  });

  it('tells a server that cannot be reached from one that answered', () => {
    expect(connectionFailureCode(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5999'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(connectionFailureCode(Object.assign(new Error('getaddrinfo ENOTFOUND db'), { code: 'ENOTFOUND' }))).toBe('ENOTFOUND');
    expect(connectionFailureCode(Object.assign(new Error('password authentication failed'), { code: '28P01' }))).toBeUndefined();
    expect(connectionFailureCode(null)).toBeUndefined();
  });
});
