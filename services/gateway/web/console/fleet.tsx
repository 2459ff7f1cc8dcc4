import { useState } from 'preact/hooks';
import { answer, BASE, type Api, type Schemas } from '../api/client';
import { Pager } from '../integration/catalog';
import { Badge, HealthBadge } from '../integration/overview';
import { ago, listed } from '../ui/format';
import { Async, ErrorNote, messageOf, useLoad } from '../ui/load';
import { FILTERS, fleetQuery, SORTS, type FilterName, type SortName } from './fleet-query';

type Integration = Schemas['FleetIntegration'];

/** The queue dashboard, where an integration's run is a job (job id = run id). */
const DASHBOARD = `${BASE}/admin/queues/ui`;

/** Every live integration at a glance: filter, page by key, and act on one. */
export function Fleet({ api }: { api: Api }) {
  const [filter, setFilter] = useState<FilterName>('all');
  const [sort, setSort] = useState<SortName>('updated_at');
  const [after, setAfter] = useState<string[]>([]);
  const [round, setRound] = useState(0);
  const [note, setNote] = useState<{ ok: boolean; text: string }>();
  const cursor = after.at(-1);
  const [loaded] = useLoad(async () => answer(api.GET(`${BASE}/admin`, { params: { query: fleetQuery(filter, sort, cursor) } })), [api, filter, sort, cursor, round]);
  const act = async (label: string, work: () => Promise<unknown>) => {
    try {
      await work();
      setNote({ ok: true, text: label });
      setRound(round + 1);
    } catch (refused) {
      setNote({ ok: false, text: `${label}: ${messageOf(refused)}` });
    }
  };
  return (
    <section aria-labelledby="fleet-title">
      <h1 id="fleet-title">Fleet</h1>
      <form class="inline" onSubmit={(event) => event.preventDefault()}>
        <label for="fleet-filter">Show</label>
        <select
          id="fleet-filter"
          value={filter}
          onChange={(e) => {
            setAfter([]);
            setFilter(e.currentTarget.value as FilterName);
          }}
        >
          {Object.entries(FILTERS).map(([name, { label }]) => (
            <option key={name} value={name}>
              {label}
            </option>
          ))}
        </select>
        <label for="fleet-sort">Sort by</label>
        <select
          id="fleet-sort"
          value={sort}
          onChange={(e) => {
            setAfter([]);
            setSort(e.currentTarget.value as SortName);
          }}
        >
          {Object.entries(SORTS).map(([name, label]) => (
            <option key={name} value={name}>
              {label}
            </option>
          ))}
        </select>
      </form>
      <div aria-live="polite">{note && (note.ok ? <p class="ok">{note.text}</p> : <ErrorNote message={note.text} />)}</div>
      <Async loaded={loaded}>
        {(page) => (
          <>
            <p role="status">
              {listed(page.pagination, 'integration')} · queue backlog: {page.backlog.waiting} waiting, {page.backlog.active} active, {page.backlog.delayed} delayed
            </p>
            <ul class="fleet">
              {page.data.map((integration) => (
                <li key={integration._id}>
                  <FleetRow integration={integration} api={api} act={act} />
                </li>
              ))}
            </ul>
            <Pager back={after.length > 0 ? () => setAfter(after.slice(0, -1)) : undefined} next={page.pagination.next ? () => setAfter([...after, page.pagination.next!]) : undefined} />
          </>
        )}
      </Async>
    </section>
  );
}

type Act = (label: string, work: () => Promise<unknown>) => Promise<void>;

function FleetRow({ integration: i, api, act }: { integration: Integration; api: Api; act: Act }) {
  const path = { id: i._id };
  const approve = () => act(`Approved ${i.partner_id}`, () => answer(api.POST(`${BASE}/admin/{id}/approve`, { params: { path } })));
  const revoke = () => act(`Revoked ${i.partner_id}`, () => answer(api.POST(`${BASE}/admin/{id}/revoke`, { params: { path } })));
  const sync = () => act(`Sync of ${i.partner_id} queued`, () => answer(api.POST(`${BASE}/admin/{id}/sync`, { params: { path, header: { prefer: 'respond-async' } } })));
  return (
    <article class="card" aria-labelledby={`fleet-${i._id}`}>
      <h2 id={`fleet-${i._id}`}>
        {i.partner_id} <Badge tone={i.isApproved ? 'ok' : 'warn'}>{i.isApproved ? 'approved' : 'pending approval'}</Badge> <HealthBadge status={i.health.status} />
      </h2>
      <p class="meta">
        <code>{i._id}</code> · catalog checked {ago(i.sync.last_checked_at)} · availability pulled {ago(i.freshness.last_pull_at)} {i.freshness.stale && <Badge tone="warn">stale</Badge>}
      </p>
      <LastRun run={i.last_run} />
      <p class="actions">
        {i.isApproved ? (
          <button type="button" class="secondary" onClick={() => void revoke()} aria-label={`Revoke ${i.partner_id}`}>
            Revoke
          </button>
        ) : (
          <button type="button" onClick={() => void approve()} aria-label={`Approve ${i.partner_id}`}>
            Approve
          </button>
        )}
        <button type="button" class="secondary" onClick={() => void sync()} aria-label={`Force a sync of ${i.partner_id}`}>
          Force a sync
        </button>
        <a href={`#/integration/${encodeURIComponent(i._id)}`}>Open its view</a>
        <a href={`${DASHBOARD}/queue/catalog${i.last_run ? `/${encodeURIComponent(i.last_run.run_id)}` : ''}`}>{i.last_run ? 'Its last job in Bull Board' : 'Catalog jobs in Bull Board'}</a>
      </p>
    </article>
  );
}

/** The newest catalog run: its state and, when it failed, why. */
function LastRun({ run }: { run: Integration['last_run'] }) {
  if (run === null) return <p class="meta">No catalog run yet.</p>;
  return (
    <p class={run.status === 'failed' ? 'error' : 'meta'}>
      Last run {run.status} {ago(run.finished_at ?? run.queued_at)}
      {run.error_message && `: ${run.error_message}`}
    </p>
  );
}
