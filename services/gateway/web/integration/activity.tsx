import { answer, BASE } from '../api/client';
import { when } from '../ui/format';
import { Async, useLoad } from '../ui/load';
import type { Scope } from './scope';

/** The alerts sent to the partner's alerts_url and the audit trail, newest first. */
export function Activity({ api, id }: Scope) {
  const [alerts] = useLoad(async () => (await answer(api.GET(`${BASE}/{id}/alerts`, { params: { path: { id }, query: { pageSize: 50 } } }))).data, [api, id]);
  const [events] = useLoad(async () => (await answer(api.GET(`${BASE}/{id}/events`, { params: { path: { id }, query: { pageSize: 50 } } }))).data, [api, id]);
  return (
    <section aria-labelledby="activity-title">
      <h1 id="activity-title">Alerts and audit trail</h1>
      <h2>Alerts</h2>
      <Async loaded={alerts}>
        {(list) =>
          list.length === 0 ? (
            <p>No alert sent (alerts go to the integration’s alerts_url when one is set).</p>
          ) : (
            <Table
              label="Alerts"
              head={['Sent', 'Alert', 'Delivery', 'Attempts', 'Last error']}
              rows={list.map((alert) => [when(alert.created_at), alert.type, `${alert.status}${alert.last_status_code ? ` (${alert.last_status_code})` : ''}`, String(alert.attempts), alert.last_error ?? '—'])}
            />
          )
        }
      </Async>
      <h2>Audit trail</h2>
      <Async loaded={events}>
        {(list) =>
          list.length === 0 ? (
            <p>Nothing recorded yet.</p>
          ) : (
            <Table label="Audit trail" head={['When', 'What', 'Who']} rows={list.map((event) => [when(event.at), event.type.replaceAll('_', ' '), event.actor])} />
          )
        }
      </Async>
    </section>
  );
}

/** A plain table of text cells with column headers, scrollable on a narrow screen. */
function Table({ label, head, rows }: { label: string; head: string[]; rows: string[][] }) {
  return (
    <div class="scroll" tabIndex={0} role="region" aria-label={label}>
      <table>
        <thead>
          <tr>
            {head.map((cell) => (
              <th scope="col" key={cell}>
                {cell}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, r) => (
            <tr key={r}>
              {row.map((cell, c) => (
                <td key={c}>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
