import { render } from 'preact';
import { useMemo } from 'preact/hooks';
import { answer, apiClient, ApiError, BASE, type Api } from '../api/client';
import type { Session } from '../api/session';
import { Activity } from '../integration/activity';
import { Availability } from '../integration/availability';
import { Catalog, Product } from '../integration/catalog';
import { Overview } from '../integration/overview';
import { Runs } from '../integration/runs';
import { Async, useLoad } from '../ui/load';
import { SessionGate } from '../ui/session-gate';
import { Shell, useRoute, type NavItem } from '../ui/shell';
import { Conformance } from './conformance';
import { Operations } from './operations';
import { SecretRotation } from './secret';
import { Settings } from './settings';

const NAV: NavItem[] = [
  { path: 'overview', label: 'Integration' },
  { path: 'settings', label: 'Settings' },
  { path: 'runs', label: 'Runs' },
  { path: 'catalog', label: 'Catalog' },
  { path: 'availability', label: 'Availability' },
  { path: 'conformance', label: 'Conformance' },
  { path: 'activity', label: 'Alerts and audit' },
  { path: 'secret', label: 'Webhook secret' },
  { path: 'operations', label: 'Sync and refresh' },
];

/** The partner's own integration id (GET /me), or null when it has none yet. */
async function myIntegration(api: Api): Promise<string | null> {
  try {
    return (await answer(api.GET(`${BASE}/me`))).data._id;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function Section({ api, id, route }: { api: Api; id: string; route: string[] }) {
  const [section, detail] = route;
  switch (section) {
    case 'settings':
      return <Settings api={api} />;
    case 'runs':
      return <Runs api={api} id={id} />;
    case 'catalog':
      return detail ? <Product api={api} id={id} productId={detail} /> : <Catalog api={api} id={id} href="#/catalog" />;
    case 'availability':
      return <Availability api={api} id={id} productId={detail} href="#/availability" />;
    case 'conformance':
      return <Conformance api={api} />;
    case 'activity':
      return <Activity api={api} id={id} />;
    case 'secret':
      return <SecretRotation api={api} />;
    case 'operations':
      return <Operations api={api} id={id} />;
    default:
      return <Overview api={api} id={id} />;
  }
}

function Portal({ session, leave }: { session: Session; leave: () => void }) {
  const api = useMemo(() => apiClient('portal', session.csrfToken), [session]);
  const route = useRoute('overview');
  const [mine] = useLoad(() => myIntegration(api), [api]);
  return (
    <Shell title="octo-sync partner portal" who={session.partner.sub} nav={NAV} current={route[0] ?? 'overview'} onSignOut={leave}>
      <Async loaded={mine}>
        {(id) => (id === null ? <p>You have no integration yet: create one with `POST /api/v1/partner-integrations` (see the API documentation).</p> : <Section api={api} id={id} route={route} />)}
      </Async>
    </Shell>
  );
}

function App() {
  return (
    <SessionGate area="portal" title="octo-sync partner portal" tokenHelp="Paste the partner JWT the marketplace gave you.">
      {(session, leave) => <Portal session={session} leave={leave} />}
    </SessionGate>
  );
}

render(<App />, document.getElementById('app')!);
