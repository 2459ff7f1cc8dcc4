import { useState } from 'preact/hooks';
import { answer, BASE, type Api, type Schemas } from '../api/client';
import { when } from '../ui/format';
import { ErrorNote, messageOf } from '../ui/load';

type Rotation = Schemas['WebhookSecretRotation'];

/** 128 random bits in hex (getRandomValues works on plain http too, unlike randomUUID). */
function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Rotates the webhook secret with a grace period; the new secret is shown once, here, and kept nowhere. */
export function SecretRotation({ api }: { api: Api }) {
  const [grace, setGrace] = useState('86400');
  const [rotation, setRotation] = useState<Rotation>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  // One key per intended rotation: a retry after a lost answer gets the same rotation back.
  const [idempotencyKey, setIdempotencyKey] = useState(randomKey);
  const rotate = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const call = api.POST(`${BASE}/me/webhook-secret/rotate`, { params: { header: { 'idempotency-key': idempotencyKey } }, body: { grace_seconds: Number(grace) } });
      setRotation((await answer(call)).data);
      setIdempotencyKey(randomKey());
    } catch (refused) {
      setError(messageOf(refused));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="secret-title">
      <h1 id="secret-title">Webhook secret</h1>
      <form onSubmit={(event) => void rotate(event)}>
        <label for="grace">How long the current secret keeps working (seconds, 0 to 604800)</label>
        <input id="grace" type="number" min={0} max={604800} required value={grace} onInput={(e) => setGrace(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          Rotate the secret
        </button>
      </form>
      {error && <ErrorNote message={error} />}
      <div aria-live="polite">
        {rotation && (
          <article class="card secret" aria-labelledby="new-secret-title">
            <h2 id="new-secret-title">Your new secret</h2>
            <p>
              <strong>Copy it now: it is shown this once.</strong> The previous secret {rotation.previous_expires_at ? `keeps working until ${when(rotation.previous_expires_at)}` : 'stopped working at once'}.
            </p>
            <label for="new-secret">x-webhook-secret</label>
            <input id="new-secret" readOnly value={rotation.webhook_secret} />
            <label for="new-signing-secret">Standard Webhooks signing secret</label>
            <input id="new-signing-secret" readOnly value={rotation.webhook_signing_secret} />
          </article>
        )}
      </div>
    </section>
  );
}
