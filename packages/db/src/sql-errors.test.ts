import { classifySqlError, isRefusedValue, sqlStateOf } from './sql-errors';

/** The shape Prisma's pg driver adapter gives a failed query (as seen from Prisma 7). */
const prismaError = (code: string) => ({ name: 'PrismaClientKnownRequestError', code: 'P2010', meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { originalCode: code, kind: 'postgres' } } } });
/** The shape of a `pg` DatabaseError (raw pool clients, COPY). */
const pgError = (code: string) => Object.assign(new Error('pg'), { code, severity: 'ERROR' });

describe('SQLSTATE classes', () => {
  test.each([
    ['57P03', 'unavailable'], // the database system is starting up
    ['57P01', 'unavailable'], // terminating connection due to administrator command
    ['57P02', 'unavailable'], // crash shutdown
    ['08006', 'unavailable'], // connection failure
    ['53300', 'unavailable'], // too many connections
    ['40001', 'unavailable'], // serialization failure
    ['40P01', 'unavailable'], // deadlock detected
    ['25006', 'unavailable'], // read-only transaction (a standby after failover)
    ['58030', 'unavailable'], // I/O error
    ['22021', 'bad-data'], // invalid byte sequence (NUL)
    ['22P05', 'bad-data'], // unsupported Unicode escape (\u0000 in jsonb)
    ['22P02', undefined], // invalid text representation: validation refuses lone surrogates first, so this is a bug
    ['22003', undefined], // numeric value out of range: a bug of ours, not the input's
    ['22008', undefined], // datetime field overflow
    ['23514', undefined], // check violation: from a request, a bug of ours
    ['54000', 'bad-data'], // program limit exceeded
    ['08P01', 'bad-data'], // NUL inside statement text
    ['42P01', undefined], // undefined table: a bug, not the input's fault nor a passing state
    ['23505', undefined], // unique violation: the caller decides
    ['23503', undefined], // foreign key violation: the caller decides
  ])('%s is %s', (code, expected) => {
    expect(classifySqlError(prismaError(code))).toBe(expected);
    expect(classifySqlError(pgError(code))).toBe(expected);
    expect(classifySqlError(new Error('wrapped', { cause: pgError(code) }))).toBe(expected);
  });

  test.each([
    ['22P02', true], // invalid text representation: the change's value, answered for it alone
    ['22003', true], // numeric value out of range
    ['22008', true], // datetime field overflow: a start in year 0000
    ['22009', true], // invalid time zone displacement value
    ['22007', true], // invalid datetime format: a start in year 10000 (+010000-…)
    ['22021', true], // NUL
    ['23514', true], // check violation
    ['54000', true], // a value too large
    ['08P01', true], // NUL inside statement text
    ['23505', false], // unique violation
    ['23503', false], // foreign key violation
    ['42P01', false], // undefined table
    ['57P01', false], // the database going away
  ])('for the apply path, %s refused for its value: %s', (code, expected) => {
    expect(isRefusedValue(prismaError(code))).toBe(expected);
    expect(isRefusedValue(pgError(code))).toBe(expected);
  });

  test('codes that are not SQLSTATEs are not read as one', () => {
    expect(sqlStateOf(Object.assign(new Error('x'), { code: 'EPIPE' }))).toBeUndefined();
    expect(sqlStateOf({ code: 'P2010' })).toBeUndefined();
    expect(classifySqlError(new Error('plain'))).toBeUndefined();
    expect(classifySqlError(null)).toBeUndefined();
  });
});
