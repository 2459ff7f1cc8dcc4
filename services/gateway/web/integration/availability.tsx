import { useState } from 'preact/hooks';
import { answer, BASE, type Api, type Schemas } from '../api/client';
import { Async, useLoad } from '../ui/load';
import { byLocalDay, monthWeeks, monthWindow } from './calendar';
import type { Scope } from './scope';

type Slot = Schemas['StoredSlot'];

/** At most this many pages of 100 slots per month (a month of 15-minute slots over 5 options fits). */
const MAX_PAGES = 30;
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

async function monthSlots(api: Api, id: string, productId: string, year: number, month: number): Promise<{ slots: Slot[]; more: boolean }> {
  const slots: Slot[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = { productId, ...monthWindow(year, month), pageSize: 100, after };
    const body = await answer(api.GET(`${BASE}/{id}/availability`, { params: { path: { id }, query } }));
    slots.push(...body.data);
    after = body.pagination.next ?? undefined;
    if (!after) return { slots, more: false };
  }
  return { slots, more: true };
}

/** Availability for one product as a month calendar of its stored slots (the supplier's local dates). */
export function Availability({ api, id, productId, href }: Scope & { productId: string | undefined; href: string }) {
  const now = new Date();
  const [month, setMonth] = useState({ year: now.getFullYear(), month: now.getMonth() });
  const [chosen, setChosen] = useState(productId ?? '');
  const shift = (by: number) => {
    const next = new Date(Date.UTC(month.year, month.month + by, 1));
    setMonth({ year: next.getUTCFullYear(), month: next.getUTCMonth() });
  };
  const choose = (event: Event) => {
    event.preventDefault();
    location.hash = `${href}/${encodeURIComponent(chosen.trim())}`;
  };
  const title = new Date(Date.UTC(month.year, month.month, 1)).toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });
  return (
    <section aria-labelledby="availability-title">
      <h1 id="availability-title">Availability</h1>
      <form class="inline" onSubmit={choose}>
        <label for="availability-product">Product id</label>
        <input id="availability-product" value={chosen} required onInput={(e) => setChosen(e.currentTarget.value)} />
        <button type="submit">Show</button>
      </form>
      {productId && (
        <>
          <p class="pager">
            <button type="button" class="secondary" onClick={() => shift(-1)}>
              Previous month
            </button>
            <button type="button" class="secondary" onClick={() => shift(1)}>
              Next month
            </button>
          </p>
          <MonthView api={api} id={id} productId={productId} year={month.year} month={month.month} title={title} />
        </>
      )}
    </section>
  );
}

function MonthView({ api, id, productId, year, month, title }: Scope & { productId: string; year: number; month: number; title: string }) {
  const [loaded] = useLoad(() => monthSlots(api, id, productId, year, month), [api, id, productId, year, month]);
  return (
    <Async loaded={loaded}>
      {({ slots, more }) => {
        const days = byLocalDay(slots);
        return (
          <div class="scroll" tabIndex={0} role="region" aria-label={`Slots of ${productId} in ${title}`}>
            {more && <p>Showing the first {slots.length} slots of the month.</p>}
            <table class="calendar">
              <caption>
                {title}: {slots.length} slots
              </caption>
              <thead>
                <tr>
                  {WEEKDAYS.map((day) => (
                    <th scope="col" key={day}>
                      {day}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {monthWeeks(year, month).map((week, w) => (
                  <tr key={w}>
                    {week.map((day, d) => (
                      <td key={d}>{day && <Day day={day} slots={days.get(day) ?? []} />}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      }}
    </Async>
  );
}

function Day({ day, slots }: { day: string; slots: Slot[] }) {
  return (
    <>
      <span class="day">{Number(day.slice(8))}</span>
      <ul class="slots">
        {slots.map((slot) => (
          <li key={`${slot.optionId}/${slot.availabilityId}`} class={`slot ${(slot.status ?? 'unknown').toLowerCase()}`}>
            {slot.localDateTimeStart?.slice(11, 16)} {slot.status ?? '?'}
            {slot.vacancies !== null && ` ${slot.vacancies}${slot.capacity !== null ? `/${slot.capacity}` : ''}`}
          </li>
        ))}
      </ul>
    </>
  );
}
