export * from './supplier';
export {
  createTestDatabase,
  prepareTemplateDatabase,
  dropRunDatabases,
  uniqueDatabaseName,
  dropDatabase,
  databaseUrl,
  templateDatabase,
  DATABASE_SERVER_URL,
  type TestDatabase,
  type TestDatabaseOptions,
} from './database';
export { uniquePrefix, clearPrefix, TEST_REDIS_URL } from './redis';
export { startRedisCluster, type TestRedisCluster } from './redis-cluster';
export { waitFor, waitForFinishedRun } from './wait';
export { slotStart } from './slot-start';
export { createTestIntegration, claimedTestRun } from './runs';
export { migrateBefore } from './migrations';
export { spawnService, startService, type ServiceKind, type ServiceProcess } from './processes';
export { freePort, tryConnect } from './ports';
export { capturingLogger, stackFrames } from './logs';
export { inPgTransaction } from './pg-transaction';
export { compiledDir } from './build';
export { startStack, STACK_JWT_SECRET, STACK_SECRETS_KEY, type TestStack } from './stack';
