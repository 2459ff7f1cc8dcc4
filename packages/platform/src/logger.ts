import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log object: credentials, webhook secrets and
 * supplier keys must never reach a log line, even by accident.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-webhook-secret"]',
  'req.headers["webhook-signature"]',
  'headers.authorization',
  'headers["x-webhook-secret"]',
  '*.authorization',
  '*.auth_key',
  '*.authKey',
  '*.webhook_secret',
  '*.webhookSecret',
  '*.secret',
  'auth_key',
  'authKey',
  'webhook_secret',
  'webhookSecret',
  'secret',
  'password',
];

export interface LoggerOptions {
  level: string;
  name: string;
  /** Where lines go; stdout by default. Tests pass a stream to assert on what was logged. */
  destination?: pino.DestinationStream;
}

/** JSON lines to stdout, with secrets redacted. One per process; children carry request/job ids. */
export function createLogger({ level, name, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      name,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Asynchronous, buffered writes to stdout: a log line never waits for a write syscall on a
    // request's path. pino flushes what is buffered when the process exits.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
