// `npm run db:migrate`: applies pending migrations to DATABASE_URL (creating the database).
import { asError, createLogger, env, parseEnv } from '@octo-sync/platform';
import { z } from 'zod';
import { migrate } from './migrate';
import { describePostgresFailure } from './reachability';
import { DEFAULT_DATABASE_URL } from './client';

const config = parseEnv(
  z.object({ DATABASE_URL: env.url(DEFAULT_DATABASE_URL, ['postgresql:', 'postgres:']), LOG_LEVEL: env.logLevel(), LOG_FORMAT: env.logFormat() }),
  process.env,
);
const log = createLogger({ name: 'db-migrate', level: config.LOG_LEVEL, format: config.LOG_FORMAT });

migrate({ databaseUrl: config.DATABASE_URL, log: (msg, fields) => log.info(fields ?? {}, msg) })
  .then((result) => {
    log.info({ applied: result.applied.length, alreadyApplied: result.alreadyApplied.length }, 'database is up to date');
  })
  .catch((err: unknown) => {
    const error = asError(err);
    const failure = describePostgresFailure(error, config.DATABASE_URL);
    // Which server, where (never the credentials) and what to do, when that is the trouble.
    if (failure === undefined) {
      log.fatal({ code: (error as { code?: string }).code }, error.message);
    } else {
      const { problem, ...fields } = failure;
      log.fatal({ ...fields, err: error.message }, problem);
    }
    process.exitCode = 1;
  });
