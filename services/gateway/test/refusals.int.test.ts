import { AppError } from '@octo-sync/platform';
import { PullRequests, SyncRequests } from '@octo-sync/runs';
import { BASE, createBody, startGateway, type GatewayHarness } from './harness';

/** The frames of a stack trace (`    at fn (file:line:col)`). */
const frames = (error: Error) => (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));

/**
 * The refusals a caller is meant to get are answered (409 INTEGRATION_NOT_APPROVED and kin),
 * never logged with a stack: they are built without one (AppError's `expected`), so a flood of
 * refused triggers does not pay a stack capture per request. Faults keep theirs.
 */
describe('expected refusals carry no stack trace', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startGateway();
  });
  afterAll(() => h?.close());

  test('a sync or pull refused by the eligibility rule (not approved, inactive) is an AppError without frames', async () => {
    const created = await h.http().post(BASE).set('Authorization', `Bearer ${h.token('partner', 'p-refused')}`).send(createBody());
    expect(created.status).toBe(201);
    const integration = (await h.db.integrations.findLive(created.body.data._id as string))!;
    expect(integration.isApproved).toBe(false);

    const refusals = [
      await new SyncRequests(h.db, h.producer).request(integration, 'webhook').catch((err: unknown) => err),
      await new PullRequests(h.db, h.producer).request(integration, 'admin').catch((err: unknown) => err),
      await new SyncRequests(h.db, h.producer).request({ ...integration, isActive: false }, 'admin').catch((err: unknown) => err),
    ];
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(AppError);
      expect([(refusal as AppError).code, frames(refusal as AppError)]).toEqual([expect.stringMatching(/^INTEGRATION_(NOT_APPROVED|INACTIVE)$/), []]);
    }
    expect(await h.db.runs.listRuns(integration.id, 5)).toEqual([]);
  });
});
