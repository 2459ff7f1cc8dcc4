import { useState } from 'preact/hooks';
import { answer, BASE, type Api, type Schemas } from '../api/client';
import { Facts } from '../integration/overview';
import { ErrorNote, messageOf } from '../ui/load';

type Report = Schemas['TestConnectionResult'];

/** Runs the conformance check now (test-connection: GET /products with the stored credentials, and the OCTO checks). */
export function Conformance({ api }: { api: Api }) {
  const [report, setReport] = useState<Report>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setReport((await answer(api.POST(`${BASE}/me/test-connection`))).data);
    } catch (refused) {
      setError(messageOf(refused));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="conformance-title">
      <h1 id="conformance-title">Conformance</h1>
      <p>Calls your supplier now with the stored credentials, through the same client as a sync, and checks what it answers.</p>
      <button type="button" disabled={busy} onClick={() => void run()}>
        {busy ? 'Running…' : 'Run the conformance check'}
      </button>
      {error && <ErrorNote message={error} />}
      <div aria-live="polite">{report && <ReportView report={report} />}</div>
    </section>
  );
}

function ReportView({ report }: { report: Report }) {
  return (
    <article class="card" aria-labelledby="report-title">
      <h2 id="report-title">{report.ok ? 'Passed' : 'Failed'}: {report.message}</h2>
      <Facts
        rows={[
          ['HTTP status', report.status === undefined ? '—' : String(report.status)],
          ['Latency', `${report.latency_ms} ms`],
          ['Products', report.ok ? String(report.product_count) : '—'],
          ['Stable between two reads', report.stable === null ? 'not checked' : report.stable ? 'yes' : 'no'],
        ]}
      />
      <Findings title="Errors" items={report.errors} />
      <Findings title="Warnings" items={report.warnings} />
      <Findings title="Differences" items={report.differences} />
    </article>
  );
}

function Findings({ title, items }: { title: string; items: string[] }) {
  return (
    <>
      <h3>
        {title} ({items.length})
      </h3>
      {items.length > 0 && (
        <ul>
          {items.map((item, i) => (
            <li key={i}>{item}</li>
          ))}
        </ul>
      )}
    </>
  );
}
