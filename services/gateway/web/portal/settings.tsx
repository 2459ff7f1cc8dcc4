import { useState } from 'preact/hooks';
import { answer, BASE, type Api, type Schemas } from '../api/client';
import { Async, ErrorNote, messageOf, useLoad } from '../ui/load';

type Integration = Schemas['Integration'];
type Patch = Schemas['PatchIntegration'];

/** The settings a partner changes itself (PATCH /me); the supplier's address and key stay with the API. */
export function Settings({ api }: { api: Api }) {
  const [loaded, reload] = useLoad(async () => (await answer(api.GET(`${BASE}/me`))).data, [api]);
  const [saved, setSaved] = useState(false);
  const done = () => {
    setSaved(true);
    reload();
  };
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <div aria-live="polite">{saved && <p class="ok">Settings saved.</p>}</div>
      <Async loaded={loaded}>{(integration) => <SettingsForm api={api} integration={integration} saved={done} />}</Async>
    </section>
  );
}

function SettingsForm({ api, integration, saved }: { api: Api; integration: Integration; saved: () => void }) {
  const pull = integration.availability_pull;
  const [alertsUrl, setAlertsUrl] = useState(integration.alerts_url ?? '');
  const [webhookAuth, setWebhookAuth] = useState(integration.webhook_auth);
  const [pullOn, setPullOn] = useState(pull.enabled);
  const [days, setDays] = useState(String(pull.days_ahead));
  const [minutes, setMinutes] = useState(String(pull.interval_minutes));
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const save = async (event: Event) => {
    event.preventDefault();
    const patch: Patch = { webhook_auth: webhookAuth, availability_pull: { enabled: pullOn, days_ahead: Number(days), interval_minutes: Number(minutes) } };
    if (alertsUrl.trim()) patch.alerts_url = alertsUrl.trim();
    setBusy(true);
    setError(undefined);
    try {
      await answer(api.PATCH(`${BASE}/me`, { body: patch }));
      saved();
    } catch (refused) {
      setError(messageOf(refused));
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(event) => void save(event)}>
      <label for="alerts-url">Alerts URL (https; signed with your webhook secret)</label>
      <input id="alerts-url" type="url" value={alertsUrl} onInput={(e) => setAlertsUrl(e.currentTarget.value)} />
      <label for="webhook-auth">How your webhooks authenticate</label>
      <select id="webhook-auth" value={webhookAuth} onChange={(e) => setWebhookAuth(e.currentTarget.value as Integration['webhook_auth'])}>
        <option value="secret_or_signature">The x-webhook-secret header or a signature</option>
        <option value="signature" disabled={!integration.signing_available}>
          Signed deliveries only
        </option>
      </select>
      <fieldset>
        <legend>Availability pull</legend>
        <label>
          <input type="checkbox" checked={pullOn} onChange={(e) => setPullOn(e.currentTarget.checked)} /> Pull availability on a schedule
        </label>
        <label for="pull-days">Days ahead (1 to 365)</label>
        <input id="pull-days" type="number" min={1} max={365} required value={days} onInput={(e) => setDays(e.currentTarget.value)} />
        <label for="pull-interval">Every how many minutes (5 to 1440)</label>
        <input id="pull-interval" type="number" min={5} max={1440} required value={minutes} onInput={(e) => setMinutes(e.currentTarget.value)} />
      </fieldset>
      {error && <ErrorNote message={error} />}
      <button type="submit" disabled={busy}>
        Save settings
      </button>
    </form>
  );
}
