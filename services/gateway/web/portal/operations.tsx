import { useState } from 'preact/hooks';
import { answer, BASE, webhookClient, type Api } from '../api/client';
import { ErrorNote, messageOf } from '../ui/load';

/** What a finished or queued run answered, in words. */
function outcome(data: { run_id: string; queued?: boolean; error?: string; synced?: number; skipped?: boolean; status?: string } | null): string {
  if (data === null) return 'Done.';
  if (data.queued) return `Queued as run ${data.run_id}: follow it under Runs.`;
  if (data.error) return `Run ${data.run_id} failed: ${data.error}`;
  if (data.status) return `Run ${data.run_id}: ${data.status}.`;
  return data.skipped ? `Run ${data.run_id}: nothing changed since the last sync.` : `Run ${data.run_id}: ${data.synced ?? 0} products synced.`;
}

function useAction(): [string | undefined, string | undefined, boolean, (work: () => Promise<string>) => Promise<void>] {
  const [result, setResult] = useState<string>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const act = async (work: () => Promise<string>) => {
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    try {
      setResult(await work());
    } catch (refused) {
      setError(messageOf(refused));
    } finally {
      setBusy(false);
    }
  };
  return [result, error, busy, act];
}

/** Sync the catalog now (the webhook, with the secret the partner pastes) and pull availability now. */
export function Operations({ api, id }: { api: Api; id: string }) {
  const [secret, setSecret] = useState('');
  const [productId, setProductId] = useState('');
  const [syncResult, syncError, syncing, sync] = useAction();
  const [pullResult, pullError, pulling, pull] = useAction();
  const trigger = (event: Event) => {
    event.preventDefault();
    void sync(async () => outcome((await answer(webhookClient().POST(`${BASE}/{id}/sync/trigger`, { params: { path: { id } }, headers: { 'x-webhook-secret': secret.trim() } }))).data));
  };
  const refresh = (event: Event) => {
    event.preventDefault();
    const body = productId.trim() ? { productId: productId.trim() } : {};
    void pull(async () => outcome((await answer(api.POST(`${BASE}/{id}/availability/refresh`, { params: { path: { id } }, body }))).data));
  };
  return (
    <section aria-labelledby="operations-title">
      <h1 id="operations-title">Sync and refresh</h1>
      <form onSubmit={trigger} aria-labelledby="sync-title">
        <h2 id="sync-title">Sync the catalog now</h2>
        <label for="sync-secret">Webhook secret (the sync trigger is your webhook; the secret is sent once and not kept)</label>
        <input id="sync-secret" type="password" autocomplete="off" required value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
        <button type="submit" disabled={syncing}>
          {syncing ? 'Syncing…' : 'Sync now'}
        </button>
        <Result result={syncResult} error={syncError} />
      </form>
      <form onSubmit={refresh} aria-labelledby="refresh-title">
        <h2 id="refresh-title">Pull availability now</h2>
        <label for="refresh-product">Product id (empty: every product)</label>
        <input id="refresh-product" value={productId} onInput={(e) => setProductId(e.currentTarget.value)} />
        <button type="submit" disabled={pulling}>
          {pulling ? 'Pulling…' : 'Pull availability'}
        </button>
        <Result result={pullResult} error={pullError} />
      </form>
    </section>
  );
}

function Result({ result, error }: { result: string | undefined; error: string | undefined }) {
  return (
    <div aria-live="polite">
      {result && <p class="ok">{result}</p>}
      {error && <ErrorNote message={error} />}
    </div>
  );
}
