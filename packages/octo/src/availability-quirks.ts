import type { ParsedAvailability } from './availability';

/*
 * Quirks of real suppliers' availability answers that a pull tolerates, named so that the
 * supplier's engineer can see them. The pull's own reading decides what is tolerated
 * (`parseAvailability`: counts that are not non-negative integers are stored as unknown, slots
 * with numbers it would change or text Postgres cannot store are held back, slots whose id cannot
 * be stored dropped); these say where an answer needed that leniency.
 */

/** Slot ids named per quirk; the rest are counted. */
const NAMED_IDS = 3;

interface SlotQuirk {
  what: string;
  matches(raw: Record<string, unknown>, parsed: { vacancies: number | null; capacity: number | null }): boolean;
}

const present = (value: unknown): boolean => value !== undefined && value !== null;

const SLOT_QUIRKS: readonly SlotQuirk[] = [
  { what: 'are FREESALE with vacancies or capacity numbers (OCTO wants null; stored as sent)', matches: (raw) => raw.status === 'FREESALE' && (present(raw.vacancies) || present(raw.capacity)) },
  { what: 'are SOLD_OUT with vacancies other than 0 (stored as sent; the status decides)', matches: (raw) => raw.status === 'SOLD_OUT' && raw.vacancies !== 0 },
  { what: 'have no utcCutoffAt (OCTO requires it; stored without a cut-off)', matches: (raw) => typeof raw.utcCutoffAt !== 'string' },
  { what: 'have no status string (stored with an unknown status)', matches: (raw) => typeof raw.status !== 'string' },
  {
    what: 'carry vacancies or capacity that are not non-negative integers (stored as unknown)',
    matches: (raw, parsed) => (present(raw.vacancies) && parsed.vacancies === null) || (present(raw.capacity) && parsed.capacity === null),
  },
];

function named(ids: readonly string[]): string {
  const quoted = ids.slice(0, NAMED_IDS).map((id) => JSON.stringify(id));
  return quoted.join(', ') + (ids.length > NAMED_IDS ? `, and ${ids.length - NAMED_IDS} more` : '');
}

/** The path of an `unstorableInput` line (`"pricing.note: must not…"`). */
const pathOf = (line: string): string => line.slice(0, line.indexOf(': '));

/** One line per quirk the answers show: how many of their slots, and the first slot ids. */
export function availabilityQuirks(answers: readonly ParsedAvailability[]): string[] {
  const slots = answers.flatMap((a) => a.slots);
  const lines: string[] = [];
  for (const quirk of SLOT_QUIRKS) {
    const ids = slots.filter((slot) => quirk.matches(slot.raw, slot)).map((slot) => slot.id);
    if (ids.length > 0) lines.push(`${ids.length} of ${slots.length} slots ${quirk.what}: ${named(ids)}`);
  }
  const held = answers.flatMap((a) => a.held);
  const inexact = held.filter((h) => h.paths.length > 0);
  if (inexact.length > 0) {
    lines.push(`${inexact.length} slots hold numbers beyond a double's precision (a pull holds them back, neither stored nor closed): ${named(inexact.map((h) => `${h.id} at ${h.paths.join(', ')}`))}`);
  }
  const text = [...held.filter((h) => h.unstorable.length > 0).map((h) => `${h.id} at ${h.unstorable.map(pathOf).join(', ')}`), ...answers.flatMap((a) => a.dropped.map((id) => `${id} at id`))];
  if (text.length > 0) lines.push(`${text.length} slots hold NUL characters or unpaired UTF-16 surrogates (a pull holds them back, or drops them when in the id): ${named(text)}`);
  return lines;
}
