import type { Verdict } from '../targets';

/** `--name value` and `--flag` arguments, with typed defaults; unknown names are an error. */
export function parseArgs<T extends Record<string, number | string | boolean>>(argv: readonly string[], defaults: T): T {
  const out: Record<string, number | string | boolean> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [rawName, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    const name = rawName.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (!(name in defaults)) throw new Error(`unknown option --${rawName} (known: ${Object.keys(defaults).join(', ')})`);
    const fallback = defaults[name];
    if (typeof fallback === 'boolean') {
      out[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${rawName} needs a value`);
    if (typeof fallback === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`--${rawName} must be a number`);
      out[name] = n;
    } else out[name] = value;
  }
  return out as T;
}

/** Rounds to `digits` decimals (figures in the JSON line stay readable). */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Progress goes to stderr, so stdout ends with the one JSON line. */
export function note(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * Prints the bench's one JSON line. With `check` (`--check`), a missed target is named on stderr
 * and the process exits non-zero.
 */
export function printResult(result: object, verdict: Verdict, check: boolean): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (!check || verdict.missed.length === 0) return;
  note(`targets missed: ${verdict.missed.join(', ')}`);
  process.exitCode = 1;
}
