import type { Response } from 'supertest';
import { BASE, createBody, useGateway } from './harness';

const { h, check, partner, admin } = useGateway();

const DEFAULT_TIERS = [
  { days_ahead: 3, interval_minutes: 5 },
  { days_ahead: 30, interval_minutes: 60 },
  { days_ahead: 90, interval_minutes: 1440 },
];

async function create(partnerId: string, pull?: unknown): Promise<{ _id: string; availability_pull: unknown }> {
  const res = await h.http().post(BASE).set(partner(partnerId)).send(createBody(pull === undefined ? {} : { availability_pull: pull }));
  expect(res.status).toBe(201);
  check('post', BASE, 201, res.body);
  return res.body.data;
}

const scheduledTiers = async (id: string) => (await h.db.pullSchedule.of(id)).map((row) => row.tier);

function expectProblems(res: Response, problems: string[]): void {
  expect(res.status).toBe(400);
  expect([...(res.body.error as string[])].sort()).toEqual([...problems].sort());
}

describe('availability_pull.tiers', () => {
  test('a new integration gets the default tiers and their schedule; days_ahead and interval_minutes alone mean one tier', async () => {
    const plain = await create('p-tiers-default');
    expect(plain.availability_pull).toEqual({ enabled: true, days_ahead: 90, interval_minutes: 5, tiers: DEFAULT_TIERS });
    expect(await scheduledTiers(plain._id)).toEqual([0, 1, 2]);
    const flat = await create('p-tiers-flat', { days_ahead: 14 });
    expect(flat.availability_pull).toEqual({ enabled: true, days_ahead: 14, interval_minutes: 60, tiers: [{ days_ahead: 14, interval_minutes: 60 }] });
    expect(await scheduledTiers(flat._id)).toEqual([0]);
  });

  test('PATCH /me and PATCH /admin/{id} set tiers, and the schedule follows (rows added and dropped)', async () => {
    const it = await create('p-tiers-patch');
    const two = [
      { days_ahead: 2, interval_minutes: 10 },
      { days_ahead: 60, interval_minutes: 720 },
    ];
    const patched = await h.http().patch(`${BASE}/me`).set(partner('p-tiers-patch')).send({ availability_pull: { tiers: two } });
    expect(patched.status).toBe(200);
    check('patch', `${BASE}/me`, 200, patched.body);
    expect(patched.body.data.availability_pull).toEqual({ enabled: true, days_ahead: 60, interval_minutes: 10, tiers: two });
    expect(await scheduledTiers(it._id)).toEqual([0, 1]);

    const flat = await h.http().patch(`${BASE}/admin/${it._id}`).set(admin()).send({ availability_pull: { interval_minutes: 30 } });
    expect(flat.status).toBe(200);
    // interval_minutes alone: one tier over the stored whole window.
    expect(flat.body.data.availability_pull).toMatchObject({ days_ahead: 60, interval_minutes: 30, tiers: [{ days_ahead: 60, interval_minutes: 30 }] });
    expect(await scheduledTiers(it._id)).toEqual([0]);
    const shown = await h.http().get(`${BASE}/${it._id}`).set(admin());
    check('get', `${BASE}/{id}`, 200, shown.body);
    expect(shown.body.data.availability_pull.tiers).toEqual([{ days_ahead: 60, interval_minutes: 30 }]);
  });

  test('bad tiers answer 400 listing every problem, on create and on both patches', async () => {
    await create('p-tiers-bad');
    const bad = {
      tiers: [
        { days_ahead: 30, interval_minutes: 5 },
        { days_ahead: 30, interval_minutes: 4 },
        { days_ahead: 10, interval_minutes: 60, extra: 1 },
        { days_ahead: 400, interval_minutes: 60 },
      ],
    };
    const outOfOrder = (i: number, previous: number) => `availability_pull.tiers.${i}.days_ahead: must be greater than the previous tier's days_ahead (${previous}): each tier covers the days after the previous one`;
    const problems = [
      'availability_pull.tiers.1.interval_minutes: must be >= 5',
      'availability_pull.tiers.2.extra: is not a known field',
      'availability_pull.tiers.3.days_ahead: must be <= 365',
      outOfOrder(1, 30),
      outOfOrder(2, 30),
    ];
    const created = await h.http().post(BASE).set(partner('p-tiers-bad-2')).send(createBody({ availability_pull: bad }));
    check('post', BASE, 400, created.body);
    expectProblems(created, problems);
    expectProblems(await h.http().patch(`${BASE}/me`).set(partner('p-tiers-bad')).send({ availability_pull: bad }), problems);

    const order = { tiers: [{ days_ahead: 30, interval_minutes: 5 }, { days_ahead: 30, interval_minutes: 60 }, { days_ahead: 20, interval_minutes: 60 }] };
    const orderProblems = [outOfOrder(1, 30), outOfOrder(2, 30)];
    expectProblems(await h.http().patch(`${BASE}/me`).set(partner('p-tiers-bad')).send({ availability_pull: order }), orderProblems);
    const other = await create('p-tiers-bad-3');
    expectProblems(await h.http().patch(`${BASE}/admin/${other._id}`).set(admin()).send({ availability_pull: order }), orderProblems);

    const counts = [{ tiers: [] }, { tiers: Array.from({ length: 6 }, (_, i) => ({ days_ahead: i + 1, interval_minutes: 5 })) }];
    for (const tiers of counts) expect((await h.http().patch(`${BASE}/me`).set(partner('p-tiers-bad')).send({ availability_pull: tiers })).status).toBe(400);
    expectProblems(await h.http().patch(`${BASE}/me`).set(partner('p-tiers-bad')).send({ availability_pull: { days_ahead: 3, tiers: DEFAULT_TIERS } }), [
      'availability_pull.tiers: give tiers, or days_ahead/interval_minutes (one tier), not both',
    ]);
  });
});

describe('sync-log kind filter', () => {
  test('kind=catalog and kind=availability_pull list runs of that kind only; another kind is a 400', async () => {
    const it = await create('p-tiers-log');
    await h.db.prisma.integration.update({ where: { id: it._id }, data: { isApproved: true } });
    const catalog = await h.db.runs.requestRun(it._id, 'webhook');
    const pull = await h.db.runs.requestRun(it._id, 'refresh', { kind: 'availability_pull', pullScope: '["p1",null,null,null]' });
    const log = async (query: string) => {
      const res = await h.http().get(`${BASE}/${it._id}/sync-log${query}`).set(partner('p-tiers-log'));
      if (res.status === 200) check('get', `${BASE}/{id}/sync-log`, 200, res.body);
      return res;
    };
    const ids = async (query: string) => ((await log(query)).body.data.runs as Array<{ run_id: string }>).map((r) => r.run_id).sort();
    expect(await ids('')).toEqual([catalog.runId, pull.runId].sort());
    expect(await ids('?kind=catalog')).toEqual([catalog.runId]);
    expect(await ids('?kind=availability_pull&limit=5')).toEqual([pull.runId]);
    const wrong = await log('?kind=hint');
    expect(wrong.status).toBe(400);
    check('get', `${BASE}/{id}/sync-log`, 400, wrong.body);
    expect(wrong.body.error).toEqual(['kind: must be one of "catalog", "availability_pull"']);
  });
});
