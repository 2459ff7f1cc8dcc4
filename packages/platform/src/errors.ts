/** How an {@link AppError} is built. */
export interface AppErrorOptions {
  cause?: unknown;
  /** Extra facts for the response or the log (never secrets). */
  details?: readonly string[];
  /**
   * An expected refusal (a 4xx answer, a business rule saying no), not a fault: it is built
   * without a stack trace. Nobody reads one (refusals are answered, never logged with a stack),
   * and capturing it is most of what building an error costs, paid on every refused request.
   */
  expected?: boolean;
}

/**
 * The base of every error this project throws on purpose.
 *
 * `code` is a stable SCREAMING_SNAKE identifier that callers branch on (the gateway maps it to an
 * HTTP status in one table, the sync-log stores it). `message` is written for the person who has
 * to act on it and never contains a secret or a payload.
 */
export class AppError extends Error {
  readonly code: string;
  /** Extra facts for the response or the log (never secrets). */
  readonly details: readonly string[];

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    // Error captures as many frames as Error.stackTraceLimit says, at construction: none for a refusal.
    const frames = Error.stackTraceLimit;
    if (options.expected === true) Error.stackTraceLimit = 0;
    try {
      super(message, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      Error.stackTraceLimit = frames;
    }
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? [];
  }
}

/** A configuration value is missing or malformed; the process must not start. */
export class ConfigError extends AppError {
  constructor(problems: readonly string[]) {
    super('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, { details: problems });
  }
}

/** Narrow an unknown thrown value to an Error without losing it. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
