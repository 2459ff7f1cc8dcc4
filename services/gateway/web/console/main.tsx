import { render } from 'preact';
import { useMemo } from 'preact/hooks';
import { apiClient } from '../api/client';
import type { Session } from '../api/session';
import { SessionGate } from '../ui/session-gate';
import { Shell, useRoute } from '../ui/shell';
import { Fleet } from './fleet';
import { IntegrationView } from './integration-view';

function Console({ session, leave }: { session: Session; leave: () => void }) {
  const api = useMemo(() => apiClient('console', session.csrfToken), [session]);
  const [page, id, section, detail] = useRoute('fleet');
  return (
    <Shell title="octo-sync operator console" who={session.partner.sub} nav={[{ path: 'fleet', label: 'Fleet' }]} current={page ?? 'fleet'} onSignOut={leave}>
      {page === 'integration' && id ? <IntegrationView api={api} id={id} section={section} detail={detail} /> : <Fleet api={api} />}
    </Shell>
  );
}

function App() {
  return (
    <SessionGate area="console" title="octo-sync operator console" tokenHelp="Paste an admin JWT.">
      {(session, leave) => <Console session={session} leave={leave} />}
    </SessionGate>
  );
}

render(<App />, document.getElementById('app')!);
