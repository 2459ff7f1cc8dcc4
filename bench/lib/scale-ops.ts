import type { Db, Integration } from '@octo-sync/db';
import type { SlotPartitionWork } from '@octo-sync/db';
import { availabilityPartitionsJob, type JobProducer } from '@octo-sync/jobs';
import type { PullRequests } from '@octo-sync/runs';
import type { CalendarSlot, SlotCalendar } from '@octo-sync/testkit';

/*
 * The operations bench:scale times, each through the real code path: pulls through the worker
 * process against the local OCTO supplier, notifies, reads and the change feed through the
 * gateway process over HTTP, the retention tick as the job the worker runs each hour. Each returns its wall
 * time in milliseconds, from this process's request to the answer (or the job's completion).
 */

/** One option of the measured integration's catalog, with its calendar slots. */
export interface WindowOption {
  productId: string;
  optionId: string;
}

/** What the operations act on. */
export interface ScaleTarget {
  db: Db;
  producer: JobProducer;
  pulls: PullRequests;
  integration: Integration;
  calendar: SlotCalendar;
  options: readonly WindowOption[];
  gatewayBase: string;
  webhookSecret: string;
  adminToken: string;
  readerToken: string;
  /** The measured window: the calendar's first and last day (UTC dates). */
  window: { from: string; days: number };
}

const JOB_TIMEOUT_MS = 30 * 60_000;

async function timed(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/** One whole pull of the measured integration through the worker, timed from the request to the job's completion. */
export function pullWindow(t: ScaleTarget): Promise<number> {
  return timed(async () => {
    const { runId, job } = await t.pulls.request(t.integration, 'admin');
    const outcome = await t.producer.waitFor(job, JOB_TIMEOUT_MS);
    const run = await t.db.runs.findRun(runId);
    if (outcome.state !== 'completed' || run?.status !== 'succeeded') throw new Error(`pull: ${run?.status ?? outcome.state} (${run?.errorCode ?? ''}: ${run?.errorMessage ?? ''})`);
  });
}

function allSlots(t: ScaleTarget): Array<WindowOption & { slot: CalendarSlot }> {
  return t.options.flatMap((o) => t.calendar.list(o.productId, o.optionId).map((slot) => ({ ...o, slot })));
}

/** Changes every 100th slot of the supplier's calendar, from the `run % 100`th: the next pull finds 1% of its window changed. */
export function changeOnePercent(t: ScaleTarget, run: number): number {
  const slots = allSlots(t).filter((_s, i) => i % 100 === run % 100);
  for (const s of slots) t.calendar.update(s.productId, s.optionId, s.slot.id, { status: 'LIMITED', vacancies: 1 + (run % 7) });
  return slots.length;
}

async function expectOk(res: Response, what: string): Promise<unknown> {
  if (res.status !== 200) throw new Error(`${what} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  return res.json();
}

/** A notify batch of `size` changes to stored slots of the window (a different stretch each run), answered once applied. */
export function notifyBatch(t: ScaleTarget, run: number, size: number): Promise<number> {
  const slots = allSlots(t);
  const updates = Array.from({ length: size }, (_v, i) => slots[(run * size + i) % slots.length]!).map((s) => ({
    productId: s.productId, optionId: s.optionId, availabilityId: s.slot.id, localDateTimeStart: s.slot.localDateTimeStart, status: 'AVAILABLE', vacancies: 2 + (run % 5), capacity: 20,
  }));
  const url = `${t.gatewayBase}/api/v1/partner-integrations/${t.integration.id}/availability/notify`;
  return timed(async () => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': t.webhookSecret }, body: JSON.stringify({ updates }) });
    const answer = ((await expectOk(res, 'notify')) as { data: { results: Array<{ updated: boolean; rejected?: boolean }> } }).data;
    const refused = answer.results.filter((r) => r.rejected === true).length;
    if (answer.results.length !== size || refused > 0) throw new Error(`notify: ${answer.results.length} results, ${refused} rejected`);
  });
}

function dayOf(from: string, offset: number): string {
  return new Date(Date.parse(`${from}T00:00:00Z`) + offset * 86_400_000).toISOString();
}

/** A page of 100 stored slots of the window through the read API, from the `run`th day of the window on. */
export function readPage(t: ScaleTarget, run: number): Promise<number> {
  const query = new URLSearchParams({ pageSize: '100', from: dayOf(t.window.from, run % t.window.days), to: dayOf(t.window.from, t.window.days) });
  const url = `${t.gatewayBase}/api/v1/partner-integrations/${t.integration.id}/availability?${query.toString()}`;
  return timed(async () => {
    const body = (await expectOk(await fetch(url, { headers: { authorization: `Bearer ${t.adminToken}` } }), 'read API')) as { data: unknown[] };
    if (body.data.length !== 100) throw new Error(`read API: a page of ${body.data.length} slots, expected 100`);
  });
}

/** A page of `limit` change-feed events after `after`. */
export function feedPage(t: ScaleTarget, after: bigint, limit: number): Promise<number> {
  const url = `${t.gatewayBase}/api/v1/changes?limit=${limit}&after=${after}`;
  return timed(async () => {
    const body = (await expectOk(await fetch(url, { headers: { authorization: `Bearer ${t.readerToken}` } }), 'change feed')) as { data: { events: unknown[] } };
    if (body.data.events.length !== limit) throw new Error(`change feed: a page of ${body.data.events.length} events, expected ${limit}`);
  });
}

/** One retention tick, `availability.partitions`, run by the worker; resolves with the month partitions it dropped. */
export async function retentionTick(t: ScaleTarget): Promise<{ ms: number; dropped: number }> {
  let dropped = 0;
  const ms = await timed(async () => {
    const job = await t.producer.enqueue(availabilityPartitionsJob, {});
    const outcome = await t.producer.waitFor<SlotPartitionWork>(job, JOB_TIMEOUT_MS);
    if (outcome.state !== 'completed') throw new Error(`retention tick: ${outcome.state} ${outcome.state === 'failed' ? outcome.reason : ''}`);
    if (outcome.value.skipped.length > 0) throw new Error(`retention tick: steps skipped past the lock timeout: ${outcome.value.skipped.join(', ')}`);
    dropped = outcome.value.dropped.length;
  });
  return { ms, dropped };
}
