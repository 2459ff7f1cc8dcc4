import { byLocalDay, monthWeeks, monthWindow } from '../web/integration/calendar';

/** The portal's availability calendar (services/gateway/web/integration/calendar.ts): pure date arithmetic, so tested here. */
describe('the availability calendar', () => {
  it('lays a month out in Monday-first weeks, with blanks outside it', () => {
    // December 2026 starts on a Tuesday and ends on a Thursday.
    const weeks = monthWeeks(2026, 11);
    expect(weeks).toHaveLength(5);
    expect(weeks[0]).toEqual([null, '2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06']);
    expect(weeks[4]).toEqual(['2026-12-28', '2026-12-29', '2026-12-30', '2026-12-31', null, null, null]);
    // February 2027 starts on a Monday: four full weeks, no blank.
    expect(monthWeeks(2027, 1).flat()).toHaveLength(28);
    expect(monthWeeks(2027, 1).flat()).not.toContain(null);
  });

  it('asks for instants that hold every local date of the month whatever the supplier’s zone', () => {
    expect(monthWindow(2026, 11)).toEqual({ from: '2026-11-30T00:00:00.000Z', to: '2027-01-02T00:00:00.000Z' });
    // A slot at 23:30 on the 31st at UTC-12 starts 2027-01-01T11:30Z: inside.
    expect(Date.parse('2027-01-01T11:30:00Z')).toBeLessThan(Date.parse(monthWindow(2026, 11).to));
  });

  it('puts a slot on the supplier’s local date, not the instant’s UTC date', () => {
    const slots = [
      { id: 'a', localDateTimeStart: '2026-12-07T23:30:00-05:00' },
      { id: 'b', localDateTimeStart: '2026-12-08T00:30:00+02:00' },
      { id: 'c', localDateTimeStart: '2026-12-07T09:00:00+00:00' },
      { id: 'undated', localDateTimeStart: null },
    ];
    const days = byLocalDay(slots);
    expect([...days.keys()]).toEqual(['2026-12-07', '2026-12-08']);
    expect(days.get('2026-12-07')?.map((slot) => slot.id)).toEqual(['a', 'c']);
    expect(days.get('2026-12-08')?.map((slot) => slot.id)).toEqual(['b']);
  });
});
