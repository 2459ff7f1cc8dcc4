import { catalogSyncJob, catalogSyncJobId, type SyncProgress } from '@octo-sync/jobs';
import { BASE, useGateway } from './harness';

/** The sync-log shows a running run's progress as its job last reported it, and no progress for any other run. */
describe('GET /{id}/sync-log: progress of the running run', () => {
  const { h, partner } = useGateway();

  test('a running run shows its job’s progress; a queued one shows null', async () => {
    const { integration } = await h.db.integrations.create({
      partnerId: 'p-progress',
      baseUrl: 'https://supplier.example',
      authType: 'bearer',
      authKey: 'k',
      handlesTicketDelivery: false,
      isApproved: true,
    });
    const { runId } = await h.db.runs.requestRun(integration.id, 'webhook', {});
    await h.producer.enqueue(catalogSyncJob, { integrationId: integration.id, runId });
    const syncLog = async () => (await h.http().get(`${BASE}/${integration.id}/sync-log`).set(partner('p-progress')).expect(200)).body.data.runs;

    expect((await syncLog())[0]).toMatchObject({ run_id: runId, status: 'queued', progress: null });

    expect((await h.db.runs.claim(runId, 3_600_000)).kind).toBe('claimed');
    const progress: SyncProgress = { bytes_received: 4_096, bytes_expected: 65_536, products_processed: 0, products_total: null };
    await (await h.producer.queue('catalog').getJob(catalogSyncJobId(runId)))!.updateProgress(progress);
    expect((await syncLog())[0]).toMatchObject({ run_id: runId, status: 'running', progress });
  });
});
