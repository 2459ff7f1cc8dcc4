import { parseAvailability } from './availability';
import { availabilityQuirks } from './availability-quirks';
import { latencyReport } from './conformance-latency';

const slot = (id: string, fields: Record<string, unknown>) => ({ id, localDateTimeStart: '2026-12-08T09:00:00+00:00', status: 'AVAILABLE', vacancies: 1, capacity: 2, utcCutoffAt: '2026-12-08T08:00:00Z', ...fields });
const answer = (slots: unknown[]) => parseAvailability(Buffer.from(JSON.stringify(slots)));

test('slots as OCTO wants them show no quirk', () => {
  expect(availabilityQuirks([answer([slot('a', {}), slot('f', { status: 'FREESALE', vacancies: null, capacity: null }), slot('s', { status: 'SOLD_OUT', vacancies: 0, capacity: 0 })])])).toEqual([]);
});

test('each quirk a pull tolerates is counted over every answer, naming the first slots', () => {
  const lines = availabilityQuirks([
    answer([slot('f1', { status: 'FREESALE', vacancies: 5 }), slot('f2', { status: 'FREESALE', capacity: 5 })]),
    answer([slot('f3', { status: 'FREESALE', vacancies: 1 }), slot('f4', { status: 'FREESALE', vacancies: 1 }), slot('s', { status: 'SOLD_OUT', vacancies: null })]),
    parseAvailability(Buffer.from('[{"id":"big","status":"AVAILABLE","utcCutoffAt":"x","vacancies":12345678901234567890}]')),
  ]);
  expect(lines).toEqual([
    '4 of 5 slots are FREESALE with vacancies or capacity numbers (OCTO wants null; stored as sent): "f1", "f2", "f3", and 1 more',
    '1 of 5 slots are SOLD_OUT with vacancies other than 0 (stored as sent; the status decides): "s"',
    '1 slots hold numbers beyond a double\'s precision (a pull holds them back, neither stored nor closed): "big at vacancies"',
  ]);
});

test('slots a pull holds back or drops for text Postgres cannot store are named apart from inexact numbers', () => {
  const lines = availabilityQuirks([parseAvailability(Buffer.from(String.raw`[{"id":"a","note":"x\ud800","vacancies":12345678901234567890},{"id":"b\u0000"}]`)), answer([slot('ok', {})])]);
  expect(lines).toEqual([
    '1 slots hold numbers beyond a double\'s precision (a pull holds them back, neither stored nor closed): "a at vacancies"',
    '2 slots hold NUL characters or unpaired UTF-16 surrogates (a pull holds them back, or drops them when in the id): "a at note", "b\\\\u0000 at id"',
  ]);
});

test('latency: nearest-rank percentiles, judged at p90 against the threshold; none without samples', () => {
  expect(latencyReport([], 1000)).toBeNull();
  expect(latencyReport([30, 10, 20, 2000], 1000)).toEqual({ calls: 4, p50_ms: 20, p90_ms: 2000, p99_ms: 2000, threshold_ms: 1000, within_threshold: false });
  expect(latencyReport([5, 7, 900], 1000)).toMatchObject({ p50_ms: 7, p90_ms: 900, within_threshold: true });
});
