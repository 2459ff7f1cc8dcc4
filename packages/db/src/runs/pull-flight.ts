import type { SyncRun } from '../generated/prisma/client';

/*
 * Pull flights: the availability pulls of one integration and one pull scope (the run's
 * `pull_scope`, opaque text: a tier's key, a refresh's or a hint's) run one at a time, each
 * holding its flight's fence (`pull_flights`) while it writes. A pull never takes the
 * integration's claim or fence, so it neither waits behind a running catalog sync nor makes one
 * wait; pulls of other scopes run beside it. How overlapping writers stay correct: slot-order.ts.
 */

// A tier's scheduled pulls are scoped `["tier",N]` (N from 0); the SQL below builds the same text.
const TIER_SCOPE_PREFIX = '["tier",';

/** The `pull_scope` of tier `tier`'s pulls (the schedule's): one flight per tier. */
export const tierScope = (tier: number): string => `${TIER_SCOPE_PREFIX}${tier}]`;

/** {@link tierScope} in SQL, of `tier`, an SQL integer expression. */
export const tierScopeSql = (tier: string): string => `'${TIER_SCOPE_PREFIX}' || ${tier} || ']'`;

/**
 * SQL: whether `column` holds a tier's scope, whichever tier. Matched whole: a refresh's scope of
 * a product whose id is "tier" (`["tier",null,null,null]`) starts the same way.
 */
export const isTierScopeSql = (column: string): string => `${column} ~ '^\\["tier",[0-9]+\\]$'`;

/**
 * The `pull_scope` of every change-hint run of an integration (hint-runs.ts): one flight, so one
 * hint run pulls at a time while the next one, queued, takes the hints that arrive meanwhile.
 */
export const HINT_SCOPE = JSON.stringify(['hints']);

/** A run's flight scope as SQL over `sync_runs` columns: a whole pull's (null scope) is ''. The claim (`sync_run_claim`) matches the same expression. */
export const FLIGHT_OF = `COALESCE(pull_scope, '')`;

/** {@link FLIGHT_OF} of a run read into the application. */
export function flightOf(run: Pick<SyncRun, 'pullScope'>): string {
  return run.pullScope ?? '';
}

/** Flight ($1 integration, $2 scope)'s row in `pull_flights`: where a pull's write transaction checks its fence. */
export const FLIGHT_ROW = 'integration_id = $1::uuid AND scope = $2';
