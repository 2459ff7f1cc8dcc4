import { inexactNumbers } from '@octo-sync/platform';
import { ApiError } from './errors';

/*
 * Bodies are kept as sent (`raw` above all), and `JSON.parse` cannot keep every number: the body
 * parsers note the numbers of a body's text that would change, and validation refuses them with
 * the other problems (storing them exactly would take every layer after the parser, the job
 * payload, the hash and the read API, off JavaScript numbers; refusing takes one scan).
 */

const noted = new WeakMap<object, string[]>();

/**
 * A JSON body's text in the charset body-parser decodes it with (`utf-8`, `utf-16`…), for
 * {@link noteInexactNumbers}; a charset we cannot read the same way is refused (415).
 */
export function jsonBodyText(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch (cause) {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', ['content-type: must be application/json in UTF-8 or UTF-16'], { cause });
  }
}

/** Notes, for `req`, the numbers of its JSON body text that would not be kept exactly. */
export function noteInexactNumbers(req: object, text: string): void {
  const paths = inexactNumbers(text);
  if (paths.length > 0) noted.set(req, paths.map((path) => `${path.length === 0 ? 'body' : path.join('.')}: is a number that cannot be kept exactly (beyond the range or precision of a double); send it as a string`));
}

/** The problems {@link noteInexactNumbers} found in `req`'s body, as validation lists them. */
export function inexactNumberProblems(req: object): string[] {
  return noted.get(req) ?? [];
}
