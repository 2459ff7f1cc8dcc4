import { availabilityApplyJob, availabilityPullJob } from '@octo-sync/jobs';
import { slotStart, waitFor } from '@octo-sync/testkit';
import { BASE, createBody, useGateway } from './harness';

/** Admission control judges each call by the backlog of the queue its work goes to: changes the availability queue, hints and refreshes the pulls queue. */
const HARD_LIMIT = 3;
const { h, admin } = useGateway({ ADMISSION_BACKLOG_LIMIT: String(HARD_LIMIT), ADMISSION_BACKLOG_HARD_LIMIT: String(HARD_LIMIT), NOTIFY_BURST: '10000' });

const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

async function approvedIntegration(partner: string): Promise<{ _id: string; webhook_secret: string }> {
  const res = await h.http().post(`${BASE}/admin/create`).set(admin()).send({ partner_id: partner, ...createBody() });
  expect(res.status).toBe(201);
  const created = res.body.data as { _id: string; webhook_secret: string };
  await h.db.prisma.integration.update({ where: { id: created._id }, data: { isApproved: true } });
  return created;
}

const notify = (target: { _id: string; webhook_secret: string }, body: object) =>
  h.http().post(`${BASE}/${target._id}/availability/notify`).set({ 'x-webhook-secret': target.webhook_secret, prefer: 'respond-async' }).send(body);
const hint = (target: { _id: string; webhook_secret: string }) => notify(target, { hint: { productId: 'p1', localDateStart: day(1), localDateEnd: day(2) } });
let changes = 0;
const change = (target: { _id: string; webhook_secret: string }) =>
  notify(target, { productId: 'p1', optionId: 'o1', availabilityId: `a-${(changes += 1)}`, localDateTimeStart: slotStart(30, '09:00', '+02:00'), status: 'AVAILABLE' });

/** Jobs that no worker takes (delayed an hour) filling `queue` to the hard limit. */
async function fill(queue: string, name: string): Promise<void> {
  await Promise.all(Array.from({ length: HARD_LIMIT }, (_, i) => h.producer.queue(queue as never).add(name, {}, { delay: 3_600_000, jobId: `filler-${queue}-${i}` })));
}

test('past the hard limit of the pulls queue, hints are shed (429 LOAD_SHED) while changes are accepted', async () => {
  const target = await approvedIntegration('admission-pulls');
  await fill(availabilityPullJob.queue, availabilityPullJob.name);
  const shed = await waitFor('a hint to be shed', async () => {
    const res = await hint(target);
    return res.status === 429 ? res : undefined;
  }, { timeoutMs: 30_000, intervalMs: 100 });
  expect(shed.body.reason).toBe('LOAD_SHED');
  expect(shed.body.error[0]).toMatch(/in the pulls queue/);
  expect(shed.headers['retry-after']).toBe('5');
  expect((await change(target)).status).toBe(202);
});

test('past the hard limit of the availability queue, changes are shed while hints are accepted', async () => {
  const target = await approvedIntegration('admission-changes');
  await h.producer.queue(availabilityPullJob.queue).obliterate({ force: true });
  await fill(availabilityApplyJob.queue, availabilityApplyJob.name);
  await waitFor('a change to be shed', async () => ((await change(target)).status === 429 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
  const accepted = await waitFor('a hint to be accepted again', async () => {
    const res = await hint(target);
    return res.status === 202 ? res : undefined;
  }, { timeoutMs: 30_000, intervalMs: 100 });
  expect(accepted.body.data).toEqual({ queued: true, run_id: expect.any(String) });
});
