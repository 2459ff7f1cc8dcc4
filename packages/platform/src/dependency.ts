/**
 * How a process names a backing service (Postgres, Redis) it cannot reach: the variable that
 * points at it, where it points (never the credentials) and how to get one, so that the first
 * thing a newcomer without Postgres or Redis reads tells them what to do.
 */

/** The command that brings up the local Postgres and Redis the defaults point at. */
const LOCAL_DEPENDENCIES_COMMAND = 'docker compose up -d postgres redis';

/** Network-level failures: nothing answered at that address (as opposed to an answer refusing us). */
const CONNECTION_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** What a person is told about a backing service: the fields of a log line, or a message's parts. */
export interface DependencyTarget {
  /** `postgres` or `redis`. */
  service: string;
  /** The environment variable that says where it is. */
  variable: string;
  /** Where it is, without user name or password. */
  url: string;
  /** What to do: start the local one, or point the variable elsewhere. */
  hint: string;
}

/** `url` with its user name and password removed (a value that is not a server's URL is not echoed at all). */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    // `user:password@host` alone parses as a scheme and a path, which would echo the password.
    if (parsed.host === '') return '(not a URL)';
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/** The target a log line or an error names for the service behind `variable`. */
export function dependencyTarget(service: string, variable: string, url: string): DependencyTarget {
  return { service, variable, url: withoutCredentials(url), hint: `start one with \`${LOCAL_DEPENDENCIES_COMMAND}\`, or set ${variable} to one that is running` };
}

/** The error's network code (`ECONNREFUSED`…) when it is a failure to reach the server at all. */
export function connectionFailureCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_FAILURES.has(code) ? code : undefined;
}
