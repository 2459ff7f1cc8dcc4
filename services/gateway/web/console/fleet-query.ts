import type { paths } from '../api/schema';

type FleetQuery = NonNullable<paths['/api/v1/partner-integrations/admin']['get']['parameters']['query']>;

/** The fleet's filters: what the console offers and the `GET /admin` query each one is. */
export const FILTERS = {
  all: { label: 'All integrations', query: {} },
  pending: { label: 'Pending approval', query: { isApproved: 'false' } },
  down: { label: 'DOWN', query: { health_status: 'DOWN' } },
  degraded: { label: 'DEGRADED', query: { health_status: 'DEGRADED' } },
  failing: { label: 'Failing (last sync failed)', query: { sync_status: 'error' } },
} satisfies Record<string, { label: string; query: FleetQuery }>;

export type FilterName = keyof typeof FILTERS;

/** The query of one page of the fleet under a filter. */
export function fleetQuery(filter: FilterName, after: string | undefined): FleetQuery {
  return { ...FILTERS[filter].query, pageSize: 25, after };
}
