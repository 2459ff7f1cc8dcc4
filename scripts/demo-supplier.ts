// `npm run demo:supplier`: a local OCTO supplier for trying the service out (the README's
// walk-through). It serves a generated catalog on 127.0.0.1:4000 (PORT to change it) and, from
// `POST /availability`, a slot calendar of today and the next DAYS_AHEAD days (default 30) with
// real suppliers' quirks (FREESALE numbers, SOLD_OUT 0/0, Mondays closed and omitted, extra
// fields). The calendar changes as if customers booked: every BOOKING_EVERY_MS (default 5000) a
// slot loses a seat, which no push announces, so each availability pull finds something new.
// Runs until Ctrl-C.
import { generateCatalog, SlotCalendar, startTestSupplier, type GeneratedProduct } from '@octo-sync/testkit';

const MONDAY = 1;

async function main(): Promise<void> {
  const products = Number(process.env.PRODUCTS ?? 12);
  const daysAhead = Number(process.env.DAYS_AHEAD ?? 30);
  const catalog = generateCatalog({ products, options: 2, units: 3 });
  const today = new Date().toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start: today, days: daysAhead + 1, times: ['09:00', '11:00', '14:00', '16:00'], closedWeekdays: [MONDAY] });
  const supplier = await startTestSupplier({ catalog, port: Number(process.env.PORT ?? 4000) });
  supplier.setAvailability(calendar);
  const bookings = setInterval(() => bookOneSeat(calendar, catalog), Number(process.env.BOOKING_EVERY_MS ?? 5000));
  process.stdout.write(
    `demo OCTO supplier: ${supplier.url}/products (${products} products), POST ${supplier.url}/availability; allow it with OCTO_ALLOWED_HOSTS=${supplier.hostPort}\n`,
  );
  const stop = () => {
    clearInterval(bookings);
    void supplier.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

/** A customer books one seat of a random slot with seats left; the last seat sells it out. */
function bookOneSeat(calendar: SlotCalendar, catalog: readonly GeneratedProduct[]): void {
  const product = pick(catalog);
  const option = product && pick(product.options);
  if (product === undefined || option === undefined) return;
  const slot = pick(calendar.list(product.id, option.id).filter((s) => s.status !== 'FREESALE' && (s.vacancies ?? 0) > 0));
  if (slot === undefined) return;
  const vacancies = (slot.vacancies ?? 1) - 1;
  calendar.update(product.id, option.id, slot.id, { vacancies, status: vacancies === 0 ? 'SOLD_OUT' : vacancies < 5 ? 'LIMITED' : 'AVAILABLE' });
}

void main();
