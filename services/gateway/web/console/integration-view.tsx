import type { Api } from '../api/client';
import { Activity } from '../integration/activity';
import { Availability } from '../integration/availability';
import { Catalog, Product } from '../integration/catalog';
import { Overview } from '../integration/overview';
import { Runs } from '../integration/runs';

const TABS = [
  ['overview', 'Integration'],
  ['runs', 'Runs'],
  ['catalog', 'Catalog'],
  ['availability', 'Availability'],
  ['activity', 'Alerts and audit'],
] as const;

/**
 * One integration as its partner sees it in the portal, read-only (the portal is partner-only:
 * an admin's session cannot open it, and the views call the same read routes through the console).
 */
export function IntegrationView({ api, id, section = 'overview', detail }: { api: Api; id: string; section?: string; detail?: string }) {
  const base = `#/integration/${encodeURIComponent(id)}`;
  return (
    <>
      <p>
        <a href="#/fleet">Back to the fleet</a>
      </p>
      <nav aria-label="Integration sections" class="tabs">
        <ul>
          {TABS.map(([path, label]) => (
            <li key={path}>
              <a href={`${base}/${path}`} aria-current={path === section ? 'page' : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <ViewSection api={api} id={id} section={section} detail={detail} base={base} />
    </>
  );
}

function ViewSection({ api, id, section, detail, base }: { api: Api; id: string; section: string; detail: string | undefined; base: string }) {
  switch (section) {
    case 'runs':
      return <Runs api={api} id={id} />;
    case 'catalog':
      return detail ? <Product api={api} id={id} productId={detail} /> : <Catalog api={api} id={id} href={`${base}/catalog`} />;
    case 'availability':
      return <Availability api={api} id={id} productId={detail} href={`${base}/availability`} />;
    case 'activity':
      return <Activity api={api} id={id} />;
    default:
      return <Overview api={api} id={id} />;
  }
}
