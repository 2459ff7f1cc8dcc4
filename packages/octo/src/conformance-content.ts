import { randomUUID } from 'node:crypto';
import type { Probe } from './conformance-availability';
import { withCapability } from './conformance-quirks';
import { isSupplierError } from './errors';

/**
 * How `GET /products/{id}` answers an id the supplier cannot have. OCTO says 400
 * `INVALID_PRODUCT_ID` (`octo`); a 404 with an OCTO error body is tolerated (`tolerated`: a
 * targeted refresh still reads it as "no such product"); anything else (`not_understood`: a 200,
 * a bare 404, another error) makes a targeted refresh of a removed product fail or guess.
 */
export interface UnknownProductReport {
  known_id: string;
  /** The status `GET /products/{known_id}` answered (null when the request failed without one). */
  known_status: number | null;
  unknown_id: string;
  status: number | null;
  /** The OCTO `error` of the answer's body, when it has one. */
  error_code: string | null;
  answer: 'octo' | 'tolerated' | 'not_understood';
  note: string;
}

/** What a supplier answered for one asked language. */
export interface LocaleReport {
  locale: string;
  /** The answer's `Content-Language` (null when absent or the request failed: see `error`). */
  content_language: string | null;
  /** The answer's `Available-Languages`, split. */
  available_languages: string[] | null;
  /** The answer is in the asked language (Content-Language equal to it, case aside). */
  honoured: boolean;
  error?: string;
}

type Answered = Pick<UnknownProductReport, 'status' | 'error_code'> & { found: boolean };

async function askProduct(probe: Probe, id: string): Promise<Answered> {
  try {
    const answer = await probe.client.lookupProduct(probe.target, id);
    if (answer.kind === 'found') return { found: true, status: answer.fetched.status, error_code: null };
    return { found: false, status: answer.error.status ?? null, error_code: answer.error.octoCode ?? null };
  } catch (error: unknown) {
    if (!isSupplierError(error)) throw error;
    return { found: false, status: error.status ?? null, error_code: error.octoCode ?? null };
  }
}

function verdict(unknown: Answered): Pick<UnknownProductReport, 'answer' | 'note'> {
  if (unknown.status === 400 && unknown.error_code === 'INVALID_PRODUCT_ID') return { answer: 'octo', note: 'answered as OCTO says: 400 INVALID_PRODUCT_ID' };
  if (unknown.status === 404 && unknown.error_code !== null) return { answer: 'tolerated', note: `answered 404 ${unknown.error_code} (OCTO says 400 INVALID_PRODUCT_ID; tolerated)` };
  if (unknown.found) return { answer: 'not_understood', note: `answered ${unknown.status} with a product for an id it cannot have: a targeted refresh cannot see that a product is gone` };
  return { answer: 'not_understood', note: `answered ${unknown.status ?? 'no status'}${unknown.error_code === null ? ' without an OCTO error' : ` ${unknown.error_code}`}: a targeted refresh of a removed product fails` };
}

/** `GET /products/{knownId}` and `GET /products/{an id that cannot exist}`. */
export async function checkUnknownProduct(probe: Probe, knownId: string): Promise<UnknownProductReport> {
  const known = await askProduct(probe, knownId);
  const unknownId = `octo-sync-conformance-${randomUUID()}`;
  const unknown = await askProduct(probe, unknownId);
  return { known_id: knownId, known_status: known.status, unknown_id: unknownId, status: unknown.status, error_code: unknown.error_code, ...verdict(unknown) };
}

/** Per asked language, `GET /products` with `Accept-Language` (and `octo/content`): the language the answer says it is in. */
export async function checkLocales(probe: Probe, locales: readonly string[]): Promise<LocaleReport[]> {
  const reports: LocaleReport[] = [];
  for (const locale of locales) {
    const headers = { 'accept-language': locale, 'octo-capabilities': withCapability(probe.capabilities, 'octo/content') };
    try {
      const fetched = await probe.client.fetchProducts(probe.target, { headers });
      probe.latencies.catalog.push(fetched.latencyMs);
      const { contentLanguage, availableLanguages } = fetched.octoHeaders;
      reports.push({
        locale,
        content_language: contentLanguage ?? null,
        available_languages: availableLanguages === undefined ? null : availableLanguages.split(',').map((l) => l.trim()).filter((l) => l !== ''),
        honoured: contentLanguage?.trim().toLowerCase() === locale.toLowerCase(),
      });
    } catch (error: unknown) {
      if (!isSupplierError(error)) throw error;
      reports.push({ locale, content_language: null, available_languages: null, honoured: false, error: `${error.code}: ${error.message}` });
    }
  }
  return reports;
}
