import { AppError } from '@octo-sync/platform';
import { PullRequests, SyncRequests } from '@octo-sync/runs';
import { stackFrames as frames } from '@octo-sync/testkit';
import { BASE, createBody, useGateway } from './harness';

/** The AppError `work` is refused with (the test fails when it is not refused). */
async function refusalOf(work: Promise<unknown>): Promise<AppError> {
  const outcome = await work.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(AppError);
  return outcome as AppError;
}

/**
 * The refusals a caller is meant to get are answered (409 INTEGRATION_NOT_APPROVED, INTEGRATION_EXISTS…),
 * never logged with a stack: they are built without one (AppError's `expected`), so a flood of
 * refused triggers does not pay a stack capture per request. Faults keep theirs.
 */
describe('expected refusals carry no stack trace', () => {
  const { h, partner } = useGateway();
  test('a sync or pull refused by the eligibility rule (not approved, inactive) is an AppError without frames', async () => {
    const created = await h.http().post(BASE).set(partner('p-refused')).send(createBody());
    expect(created.status).toBe(201);
    const integration = (await h.db.integrations.findLive(created.body.data._id as string))!;
    expect(integration.isApproved).toBe(false);

    const refusals = [
      await refusalOf(new SyncRequests(h.db, h.producer).request(integration, 'webhook')),
      await refusalOf(new PullRequests(h.db, h.producer).request(integration, 'admin')),
      await refusalOf(new SyncRequests(h.db, h.producer).request({ ...integration, isActive: false }, 'admin')),
    ];
    for (const refusal of refusals) expect([refusal.code, frames(refusal)]).toEqual([expect.stringMatching(/^INTEGRATION_(NOT_APPROVED|INACTIVE)$/), []]);
    expect(await h.db.runs.listRuns(integration.id, 5)).toEqual([]);
  });

  test('the stores’ refusals (a second live integration, signatures without a signing key) too; the HTTP answer is the 409', async () => {
    const input = { partnerId: 'p-twice', baseUrl: 'https://octo.example-partner.com/api/', authType: 'bearer' as const, authKey: 'sk_live_twice_0001', handlesTicketDelivery: false, isApproved: false };
    const { integration } = await h.db.integrations.create(input);
    const twice = await refusalOf(h.db.integrations.create(input));
    expect([twice.code, frames(twice)]).toEqual(['INTEGRATION_EXISTS', []]);
    const again = await h.http().post(BASE).set(partner('p-twice')).send(createBody());
    expect([again.status, again.body.reason]).toEqual([409, 'INTEGRATION_EXISTS']);

    await h.db.prisma.integration.update({ where: { id: integration.id }, data: { webhookSecretSealed: null } });
    const unsigned = await refusalOf(h.db.integrations.update(integration.id, { webhookAuth: 'signature' }, 'p-twice'));
    expect([unsigned.code, frames(unsigned)]).toEqual(['SIGNING_UNAVAILABLE', []]);
  });
});
