import { answer, BASE, type Schemas } from '../api/client';
import { count, when } from '../ui/format';
import { Async, useLoad } from '../ui/load';
import { Badge } from './overview';
import type { Scope } from './scope';

/** A run of the sync-log (the schema's SyncRun is nullable, as the fleet's `last_run` may be none). */
type Run = NonNullable<Schemas['SyncRun']>;
const isRun = (run: Schemas['SyncRun']): run is Run => run !== null;

/** The most recent runs, newest first: counts, warnings, quarantined products and why a run failed. */
export function Runs({ api, id, reloadKey }: Scope & { reloadKey?: number }) {
  const [loaded] = useLoad(async () => (await answer(api.GET(`${BASE}/{id}/sync-log`, { params: { path: { id }, query: { limit: 20 } } }))).data, [api, id, reloadKey]);
  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Runs</h1>
      <Async loaded={loaded}>
        {(log) =>
          log.runs.filter(isRun).length === 0 ? (
            <p>No run yet.</p>
          ) : (
            <ol class="runs">
              {log.runs.filter(isRun).map((run) => (
                <li key={run.run_id}>
                  <RunCard run={run} />
                </li>
              ))}
            </ol>
          )
        }
      </Async>
    </section>
  );
}

const TONE = { succeeded: 'ok', skipped: 'ok', queued: 'warn', running: 'warn', failed: 'bad' } as const;

function RunCard({ run }: { run: Run }) {
  const title = `${run.kind === 'catalog' ? 'Catalog sync' : 'Availability pull'} (${run.trigger})`;
  return (
    <article class="card run" aria-label={`${title}, ${run.status}, ${when(run.queued_at)}`}>
      <h2>
        {title} <Badge tone={TONE[run.status]}>{run.status}</Badge>
      </h2>
      <p class="meta">
        Queued {when(run.queued_at)}
        {run.duration_ms !== null && ` · ${(run.duration_ms / 1000).toFixed(1)} s`}
        {run.payload_bytes !== null && ` · ${count(run.payload_bytes, 'byte')}`} · {count(run.attempts, 'attempt')}
      </p>
      {run.error_message && (
        <p class="error">
          <strong>Failed{run.error_code ? ` (${run.error_code})` : ''}:</strong> {run.error_message}
        </p>
      )}
      {run.counts && <Counts counts={run.counts} />}
      {run.warnings.length > 0 && (
        <details>
          <summary>{count(run.warnings.length + run.warnings_omitted, 'warning')}</summary>
          <ul>
            {run.warnings.map((warning, i) => (
              <li key={i}>
                {warning.product_id && <code>{warning.product_id}</code>} <code>{warning.path}</code>: {warning.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      <p class="meta">
        Run <code>{run.run_id}</code>
      </p>
    </article>
  );
}

/** One row per entity (products, options, units or slots), one column per outcome. */
function Counts({ counts }: { counts: NonNullable<Run['counts']> }) {
  const rows = Object.entries(counts) as [string, Record<string, number>][];
  const columns = [...new Set(rows.flatMap(([, outcome]) => Object.keys(outcome)))];
  return (
    <div class="scroll" tabIndex={0} role="region" aria-label="Counts">
      <table>
        <thead>
          <tr>
            <th scope="col">Entity</th>
            {columns.map((column) => (
              <th scope="col" key={column}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(([entity, outcome]) => (
            <tr key={entity}>
              <th scope="row">{entity}</th>
              {columns.map((column) => (
                <td key={column}>{outcome[column] ?? '—'}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
