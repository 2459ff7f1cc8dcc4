import type { paths } from '../api/schema';

type FleetQuery = NonNullable<paths['/api/v1/partner-integrations/admin']['get']['parameters']['query']>;

/** The fleet's filters: what the console offers and the `GET /admin` query each one is. */
export const FILTERS = {
  all: { label: 'All integrations', query: {} },
  pending: { label: 'Pending approval', query: { isApproved: 'false' } },
  down: { label: 'DOWN', query: { health_status: 'DOWN' } },
  stale: { label: 'Stale (a whole pull missed)', query: { stale: 'true' } },
  failing: { label: 'Failing (last run failed)', query: { failing: 'true' } },
} satisfies Record<string, { label: string; query: FleetQuery }>;

export type FilterName = keyof typeof FILTERS;

/** The fleet's orders (worst first for the states), as `GET /admin` sorts. */
export const SORTS = {
  updated_at: 'Recently changed',
  health_status: 'Health (worst first)',
  stale: 'Stale first',
  failing: 'Failing first',
  created_at: 'Newest',
} satisfies Record<NonNullable<FleetQuery['sort']>, string>;

export type SortName = keyof typeof SORTS;

/** The query of one page of the fleet (a keyset cursor belongs to the sort that made it). */
export function fleetQuery(filter: FilterName, sort: SortName, after: string | undefined): FleetQuery {
  return { ...FILTERS[filter].query, sort, pageSize: 25, after };
}
