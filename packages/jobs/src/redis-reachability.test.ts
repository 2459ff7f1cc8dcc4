import { isRedisUnreachable } from './redis-reachability';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('which Redis errors mean Redis cannot be reached', () => {
  it('counts network failures and the connections ioredis closed because of them', () => {
    expect(isRedisUnreachable(withCode('connect ECONNREFUSED 127.0.0.1:6399', 'ECONNREFUSED'))).toBe(true);
    expect(isRedisUnreachable(withCode('connect ETIMEDOUT', 'ETIMEDOUT'))).toBe(true);
    expect(isRedisUnreachable(new Error('Connection is closed.'))).toBe(true);
    // A cluster that reached none of its nodes carries the last node's error.
    expect(isRedisUnreachable(Object.assign(new Error('Failed to refresh slots cache.'), { lastNodeError: withCode('connect ECONNREFUSED', 'ECONNREFUSED') }))).toBe(true);
  });

  it('leaves out what a Redis that answered refused', () => {
    expect(isRedisUnreachable(new Error('WRONGPASS invalid username-password pair or user is disabled.'))).toBe(false);
    expect(isRedisUnreachable(new Error("OOM command not allowed when used memory > 'maxmemory'."))).toBe(false);
    expect(isRedisUnreachable('ECONNREFUSED')).toBe(false);
  });
});
