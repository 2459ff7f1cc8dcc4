import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

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

/** `json`: one JSON object a line; `pretty`: the same fields, coloured and indented for a person; `auto`: pretty on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  level: string;
  name: string;
  /** `auto` when not given. */
  format?: LogFormat;
  /** Where lines go; stdout by default. Tests pass a stream to assert on what was logged. */
  destination?: pino.DestinationStream;
}

/** Whether a logger writing to stdout in `format` prints for a person rather than for a collector. */
function isPrettyFormat(format: LogFormat, stdoutIsTty: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && stdoutIsTty);
}

function stdoutDestination(format: LogFormat): pino.DestinationStream {
  // Pretty printing formats each line as it is written: it is for a person at a terminal, where
  // throughput does not matter.
  if (isPrettyFormat(format, process.stdout.isTTY === true)) return pretty({ destination: 1, colorize: process.stdout.isTTY === true, sync: true });
  // Asynchronous, buffered writes to stdout: a log line never waits for a write syscall on a
  // request's path. pino flushes what is buffered when the process exits.
  return pino.destination({ dest: 1, sync: false });
}

/**
 * Log lines to stdout (JSON, or the same fields pretty-printed: see {@link LogFormat}), with
 * secrets redacted. One per process; children carry request/job ids.
 */
export function createLogger({ level, name, format = 'auto', destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      name,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? stdoutDestination(format),
  );
}
