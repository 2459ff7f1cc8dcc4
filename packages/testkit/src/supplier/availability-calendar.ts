/** One slot as the calendar serves it: OCTO's fields plus whatever extra fields a supplier adds. */
export interface CalendarSlot {
  id: string;
  localDateTimeStart: string;
  localDateTimeEnd: string;
  allDay: boolean;
  status: 'AVAILABLE' | 'LIMITED' | 'SOLD_OUT' | 'CLOSED' | 'FREESALE';
  vacancies: number | null;
  capacity: number | null;
  [extra: string]: unknown;
}

/** What `POST /availability` asks for. */
export interface AvailabilityBody {
  productId?: unknown;
  optionId?: unknown;
  localDateStart?: unknown;
  localDateEnd?: unknown;
  /** Prices asked in this currency (see the test supplier's `CurrencyMode`). */
  currency?: unknown;
}

/** Options of {@link SlotCalendar.generate}. */
export interface CalendarOptions {
  /** Products and their option ids. */
  products: ReadonlyArray<{ id: string; options: ReadonlyArray<{ id: string }> }>;
  /** First local date, `YYYY-MM-DD`. */
  start: string;
  days: number;
  /** Start times per day, e.g. ['09:00', '11:00']. */
  times: readonly string[];
  /** The local offset written into every start, e.g. `+02:00`. */
  offset?: string;
  /** Weekdays without any slot (0 Sunday to 6 Saturday): the supplier omits closed days altogether. */
  closedWeekdays?: readonly number[];
}

const optionKey = (productId: string, optionId: string): string => `${productId}\u0000${optionId}`;

/**
 * A changeable slot calendar for the test and demo suppliers' `POST /availability`, with the
 * quirks real suppliers have: FREESALE slots with null numbers, SOLD_OUT at 0/0, closed days
 * omitted altogether, and fields OCTO does not define.
 */
export class SlotCalendar {
  private readonly slots = new Map<string, Map<string, CalendarSlot>>();

  /** A calendar of every option, day and time: mostly AVAILABLE, with a few of each quirk. */
  static generate(options: CalendarOptions): SlotCalendar {
    const calendar = new SlotCalendar();
    const offset = options.offset ?? '+00:00';
    const closed = new Set(options.closedWeekdays ?? []);
    let n = 0;
    for (const product of options.products) {
      for (const option of product.options) {
        for (let day = 0; day < options.days; day++) {
          const date = addDays(options.start, day);
          if (closed.has(new Date(`${date}T00:00:00Z`).getUTCDay())) continue;
          for (const time of options.times) calendar.put(product.id, option.id, quirkySlot(`${date}T${time}:00${offset}`, n++));
        }
      }
    }
    return calendar;
  }

  /** Adds or replaces a slot. */
  put(productId: string, optionId: string, slot: CalendarSlot): void {
    const key = optionKey(productId, optionId);
    const option = this.slots.get(key) ?? new Map<string, CalendarSlot>();
    option.set(slot.id, slot);
    this.slots.set(key, option);
  }

  /** Changes fields of a stored slot; throws for an unknown one. */
  update(productId: string, optionId: string, id: string, patch: Partial<CalendarSlot>): void {
    const slot = this.slots.get(optionKey(productId, optionId))?.get(id);
    if (slot === undefined) throw new Error(`calendar: no slot ${id}`);
    this.put(productId, optionId, { ...slot, ...patch });
  }

  /** Drops a slot from the supplier's answers (as a supplier that deletes or closes it silently). */
  remove(productId: string, optionId: string, id: string): void {
    this.slots.get(optionKey(productId, optionId))?.delete(id);
  }

  /** The slots of one option, in start order. */
  list(productId: string, optionId: string): CalendarSlot[] {
    return [...(this.slots.get(optionKey(productId, optionId))?.values() ?? [])].sort((a, b) => a.localDateTimeStart.localeCompare(b.localDateTimeStart));
  }

  /** The answer to one `POST /availability`: the option's slots whose local date is in the range. */
  answer(body: AvailabilityBody): CalendarSlot[] {
    if (typeof body.productId !== 'string' || typeof body.optionId !== 'string') return [];
    const from = typeof body.localDateStart === 'string' ? body.localDateStart : '0000-00-00';
    const to = typeof body.localDateEnd === 'string' ? body.localDateEnd : '9999-99-99';
    return this.list(body.productId, body.optionId).filter((slot) => {
      const date = slot.localDateTimeStart.slice(0, 10);
      return date >= from && date <= to;
    });
  }
}

function quirkySlot(start: string, n: number): CalendarSlot {
  const base = { id: start, localDateTimeStart: start, localDateTimeEnd: start, allDay: false, utcCutoffAt: start };
  if (n % 17 === 5) return { ...base, status: 'FREESALE', vacancies: null, capacity: null };
  if (n % 13 === 3) return { ...base, status: 'SOLD_OUT', vacancies: 0, capacity: 0 };
  return { ...base, status: 'AVAILABLE', vacancies: 10 + (n % 7), capacity: 20, meetingPoint: null, x_supplier_code: `S${n}` };
}

function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}
