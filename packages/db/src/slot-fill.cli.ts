// `npm run db:fill-slots`: step 2 of the upgrade to partitioned slots (README, "Upgrading to
// partitioned slots"): copies the old slot table into the partitioned one, FILL_BATCH rows per
// transaction (`slot_fill_batch`, migration …_slot_partitions_expand), until nothing is left.
// Safe to stop and start again: the function remembers how far it went.
import { asError, createLogger, env, parseEnv } from '@octo-sync/platform';
import { z } from 'zod';
import { connectClient, DEFAULT_DATABASE_URL } from './client';

const config = parseEnv(
  z.object({
    DATABASE_URL: env.url(DEFAULT_DATABASE_URL, ['postgresql:', 'postgres:']),
    FILL_BATCH: env.int(5_000, { min: 1, max: 100_000 }),
    LOG_LEVEL: env.logLevel(),
    LOG_FORMAT: env.logFormat(),
  }),
  process.env,
);
const log = createLogger({ name: 'db-fill-slots', level: config.LOG_LEVEL, format: config.LOG_FORMAT });

async function fill(): Promise<void> {
  const client = await connectClient(config.DATABASE_URL, (err) => log.warn({ err: err.message }, 'database connection lost'));
  try {
    let copied = 0;
    for (;;) {
      const { rows } = await client.query<{ n: number }>('SELECT slot_fill_batch($1) AS n', [config.FILL_BATCH]);
      const n = rows[0]?.n ?? 0;
      if (n === 0) break;
      copied += n;
      log.info({ looked: n, total: copied }, 'slots copied');
    }
    log.info({ total: copied }, 'done');
  } finally {
    await client.end();
  }
}

fill().catch((err: unknown) => {
  log.fatal({ err: asError(err).message }, 'slot fill failed (run it again: it resumes)');
  process.exitCode = 1;
});
