import { AppError } from '@octo-sync/platform';
import { stackFrames as frames } from '@octo-sync/testkit';
import { ApiError, envelopeFor, ERROR_STATUS, isDependencyDown } from './errors';

describe('error table and envelope', () => {
  test('every error reason has a status', () => {
    const expected: Record<string, number> = {
      VALIDATION_FAILED: 400,
      UNAUTHENTICATED: 401,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      INTEGRATION_EXISTS: 409,
      INTEGRATION_NOT_APPROVED: 409,
      REMAP_TARGET_TAKEN: 409,
      REMAP_BUSY: 409,
      WEBHOOK_SECRET_INVALID: 401,
      RATE_LIMITED: 429,
      PAYLOAD_TOO_LARGE: 413,
      UNSUPPORTED_MEDIA_TYPE: 415,
      INTERNAL: 500,
      SERVICE_UNAVAILABLE: 503,
    };
    for (const [code, status] of Object.entries(expected)) expect([code, ERROR_STATUS[code]?.status]).toEqual([code, status]);
  });

  test('envelope shape; unknown codes become INTERNAL 500', () => {
    expect(envelopeFor('NOT_FOUND', ['integration: not found'])).toEqual({
      status: 404,
      body: { success: 0, error: ['integration: not found'], message: 'Not found', code: 404, reason: 'NOT_FOUND' },
    });
    expect(envelopeFor('SOMETHING_NEW', [])).toEqual({
      status: 500,
      body: { success: 0, error: ['internal error'], message: 'Internal error', code: 500, reason: 'INTERNAL' },
    });
  });
});

describe('isDependencyDown', () => {
  test('recognises refused connections, Prisma init errors and ioredis offline errors, also as causes', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(isDependencyDown(refused)).toBe(true);
    expect(isDependencyDown(new AppError('X', 'wrapped', { cause: refused }))).toBe(true);
    expect(isDependencyDown(Object.assign(new Error('x'), { name: 'PrismaClientInitializationError' }))).toBe(true);
    expect(isDependencyDown(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(true);
    expect(isDependencyDown(new AggregateError([refused]))).toBe(true);
  });

  test('ordinary bugs are not', () => {
    expect(isDependencyDown(new TypeError('x is undefined'))).toBe(false);
    expect(isDependencyDown('ECONNREFUSED')).toBe(false);
  });
});

describe('Postgres states answer 503, bad values 400', () => {
  const prismaError = (code: string) => ({ name: 'PrismaClientKnownRequestError', code: 'P2010', meta: { driverAdapterError: { cause: { originalCode: code } } } });
  test.each(['57P03', '57P01', '53300', '08006', '40001', '25006'])('%s is a dependency being away', (code) => {
    expect(isDependencyDown(prismaError(code))).toBe(true);
  });
  test.each(['22021', '22P05', '42P01'])('%s is not', (code) => {
    expect(isDependencyDown(prismaError(code))).toBe(false);
  });
});

describe('Redis Cluster failover answers 503', () => {
  test.each([
    ['CLUSTERDOWN The cluster is down'],
    ['TRYAGAIN Multiple keys request during rehashing of slot'],
    ['MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no'],
    ['LOADING Redis is loading the dataset in memory'],
    ['Too many Cluster redirections. Last error: Error: Connection is closed.'],
    ['Failed to refresh slots cache.'],
  ])('%s', (message) => {
    expect(isDependencyDown(new Error(message))).toBe(true);
  });
  test('a cluster that failed every node', () => {
    expect(isDependencyDown(Object.assign(new Error('all nodes failed'), { name: 'ClusterAllFailedError' }))).toBe(true);
  });
});

describe('ApiError', () => {
  test('a refusal (4xx) is built without a stack trace; a 5xx keeps its frames', () => {
    for (const code of ['VALIDATION_FAILED', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'INTEGRATION_NOT_APPROVED', 'PAYLOAD_TOO_LARGE', 'RATE_LIMITED'] as const) {
      expect([code, frames(new ApiError(code, ['x: no']))]).toEqual([code, []]);
    }
    expect(frames(new ApiError('SERVICE_UNAVAILABLE', ['redis: away'])).length).toBeGreaterThan(0);
    expect(frames(new ApiError('INTERNAL', [])).length).toBeGreaterThan(0);
  });
});
