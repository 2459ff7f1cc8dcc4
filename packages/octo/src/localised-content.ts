/*
 * The language of a supplier's answer, as OCTO's `octo/content` capability says it: the
 * `Content-Language` response header.
 */

/**
 * Whether an answer's `Content-Language` is the asked locale: equal case aside, or absent (many
 * suppliers send no such header; their answer is taken as asked).
 */
export function answersLocale(contentLanguage: string | undefined, asked: string): boolean {
  const served = contentLanguage?.split(',')[0]?.trim();
  return served === undefined || served === '' || served.toLowerCase() === asked.toLowerCase();
}
