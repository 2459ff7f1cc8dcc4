import { slotTimeBounds, startWithin, updatedAtWithin } from './slot-times';

describe('slotTimeBounds', () => {
  const now = Date.parse('2026-12-07T01:30:00Z');
  const bounds = slotTimeBounds(now, 7);

  test('a start from today minus the retention to today plus 2 years, a day wider each side for time zones', () => {
    expect(new Date(bounds.earliestStart).toISOString()).toBe('2026-11-29T00:00:00.000Z');
    expect(new Date(bounds.latestStart).toISOString()).toBe('2028-12-08T23:59:59.999Z');
    expect(startWithin(bounds, '2026-11-30T00:30:00+14:00')).toBe(true);
    expect(startWithin(bounds, '2026-11-28T23:00:00Z')).toBe(false);
    expect(startWithin(bounds, '2028-12-07T23:00:00-12:00')).toBe(true);
    expect(startWithin(bounds, '2028-12-10T00:00:00Z')).toBe(false);
    expect(startWithin(bounds, '0000-06-01T10:00:00Z')).toBe(false);
    expect(startWithin(bounds, '9999-12-31T23:00:00-05:00')).toBe(false);
    expect(startWithin(bounds, 'not a date')).toBe(false);
  });

  test('an updatedAt from 1970 to 24 h past now', () => {
    expect(updatedAtWithin(bounds, '1970-01-01T00:00:00Z')).toBe(true);
    expect(updatedAtWithin(bounds, '1969-12-31T23:59:59Z')).toBe(false);
    expect(updatedAtWithin(bounds, '2026-12-08T01:30:00Z')).toBe(true);
    expect(updatedAtWithin(bounds, '2026-12-08T01:30:00.001Z')).toBe(false);
    expect(updatedAtWithin(bounds, '9999-12-31T23:59:59Z')).toBe(false);
  });

  test('a leap day two years on stays a real date', () => {
    expect(new Date(slotTimeBounds(Date.parse('2028-02-29T12:00:00Z'), 0).latestStart).toISOString()).toBe('2030-03-02T23:59:59.999Z');
  });
});
