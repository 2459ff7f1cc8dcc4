import { classifySqlError, sqlStateOf } from './sql-errors';

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
    ['22P02', 'bad-data'], // invalid text representation: the change's value, answered for it alone
    ['22003', 'bad-data'], // numeric value out of range
    ['22008', 'bad-data'], // datetime field overflow: a start in year 0000
    ['22009', 'bad-data'], // invalid time zone displacement value
    ['22007', 'bad-data'], // invalid datetime format: a start in year 10000 (+010000-…)
    ['23514', 'bad-data'], // check violation
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

  test('codes that are not SQLSTATEs are not read as one', () => {
    expect(sqlStateOf(Object.assign(new Error('x'), { code: 'EPIPE' }))).toBeUndefined();
    expect(sqlStateOf({ code: 'P2010' })).toBeUndefined();
    expect(classifySqlError(new Error('plain'))).toBeUndefined();
    expect(classifySqlError(null)).toBeUndefined();
  });
});
