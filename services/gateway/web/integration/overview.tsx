import type { ComponentChildren } from 'preact';
import { answer, BASE, type Schemas } from '../api/client';
import { ago, when } from '../ui/format';
import { Async, useLoad } from '../ui/load';
import type { Scope } from './scope';

type Integration = Schemas['Integration'];

/** The integration, its settings, health and freshness. */
export function Overview({ api, id }: Scope) {
  const [loaded] = useLoad(async () => (await answer(api.GET(`${BASE}/{id}`, { params: { path: { id } } }))).data, [api, id]);
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Integration</h1>
      <Async loaded={loaded}>{(integration) => <IntegrationFacts integration={integration} />}</Async>
    </section>
  );
}

function IntegrationFacts({ integration: i }: { integration: Integration }) {
  const pull = i.availability_pull;
  return (
    <div class="cards">
      <article class="card" aria-labelledby="state-title">
        <h2 id="state-title">State</h2>
        <p>
          <Badge tone={i.isApproved ? 'ok' : 'warn'}>{i.isApproved ? 'Approved' : 'Pending approval'}</Badge> <Badge tone={i.isActive ? 'ok' : 'bad'}>{i.isActive ? 'Active' : 'Inactive'}</Badge>
        </p>
        <Facts rows={[['Integration id', <code>{i._id}</code>], ['Partner', i.partner_id], ['Created', when(i.createdAt)], ['Updated', when(i.updatedAt)]]} />
      </article>
      <article class="card" aria-labelledby="health-title">
        <h2 id="health-title">Health and freshness</h2>
        <p>
          <HealthBadge status={i.health.status} /> <Badge tone={i.sync.status === 'error' ? 'bad' : 'ok'}>{`Sync ${i.sync.status}`}</Badge>
        </p>
        {i.sync.error_message && <p class="error">Last sync failed: {i.sync.error_message}</p>}
        <Facts
          rows={[
            ['Last checked', ago(i.sync.last_checked_at)],
            ['Last change written', ago(i.sync.last_sync_at)],
            ['Last probe', ago(i.health.last_probe_at)],
            ['Last successful probe', ago(i.health.last_success_at)],
            ['Consecutive failures', String(i.health.consecutive_failures)],
            ['Degraded since', when(i.health.degraded_since)],
            ['Down since', when(i.health.down_since)],
          ]}
        />
      </article>
      <article class="card" aria-labelledby="settings-title">
        <h2 id="settings-title">Settings</h2>
        <Facts
          rows={[
            ['Supplier (base_url)', <code>{i.base_url}</code>],
            ['Supplier auth', i.auth_type],
            ['Webhook auth', i.webhook_auth],
            ['Signed webhooks', i.signing_available ? 'available' : 'after the next secret rotation'],
            ['Ticket delivery', i.handles_ticket_delivery ? 'by the supplier' : 'by the marketplace'],
            ['Alerts URL', i.alerts_url ?? 'none'],
            ['Availability pull', pull.enabled ? `every ${pull.interval_minutes} min, ${pull.days_ahead} days ahead` : 'off'],
          ]}
        />
      </article>
    </div>
  );
}

/** Label–value pairs as a description list. */
export function Facts({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A state word on a coloured chip (the word carries the meaning; the colour only repeats it). */
export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad'; children: ComponentChildren }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}

/** HEALTHY, DEGRADED or DOWN. */
export function HealthBadge({ status }: { status: Schemas['Health']['status'] }) {
  return <Badge tone={status === 'HEALTHY' ? 'ok' : status === 'DEGRADED' ? 'warn' : 'bad'}>{status}</Badge>;
}
