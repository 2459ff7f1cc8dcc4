import { parseArgs } from 'node:util';
import { checkConformance, validateBaseUrl, type ConformanceReport, type LatencyReport } from '@octo-sync/octo';
import { loadWorkerConfig } from './config';
import { conformanceSettings } from './connection-test/test-connection.handler';
import { createSupplierFromConfig } from './runtime';

const USAGE = `usage: npm run conformance -- --base-url URL [--auth-type bearer|api_key] [--auth-key KEY] [--allow-host HOST:PORT ...]
       [--locales de,fr-FR] [--currencies EUR,USD] [--json]

Fetches GET {base-url}/products twice, as a sync would, and reports what would be stored, the
errors that would fail a sync, the quirks it tolerates, and whether both fetches are the same.
Then asks POST /availability (and /availability/calendar) for up to 3 products over 7 days and
reports what a pull tolerates, asks GET /products/{id} for a known and an unknown id, and times
each endpoint against the marketplaces' thresholds (catalog 10 s, availability 1 s, at p90).
--locales asks the catalog in each language (Accept-Language); --currencies asks availability
prices in each currency: the report says whether the supplier honoured each.
Exit status: 0 a sync would succeed, 1 it would fail, 2 bad usage.
--allow-host (or OCTO_ALLOWED_HOSTS) lets it reach a private or loopback host:port.`;

const LOCALE = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;
const CURRENCY = /^[A-Z]{3}$/;

/** Bad command-line input: exit 2 with the usage. */
class UsageError extends Error {}

interface Invocation {
  baseUrl: string;
  authType: 'bearer' | 'api_key';
  authKey: string;
  allowHosts: string[];
  locales: string[];
  currencies: string[];
  json: boolean;
}

/** A comma-separated list option's entries, and a problem per entry that does not match `pattern`. */
function listOption(value: string | undefined, name: string, pattern: RegExp, what: string, problems: string[]): string[] {
  const entries = (value ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const entry of entries.filter((e) => !pattern.test(e))) problems.push(`--${name} ${JSON.stringify(entry)} is not ${what}`);
  return [...new Set(entries)];
}

function parseInvocation(args: string[]): Invocation | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        'base-url': { type: 'string' },
        'auth-type': { type: 'string', default: 'bearer' },
        'auth-key': { type: 'string', default: '' },
        'allow-host': { type: 'string', multiple: true, default: [] },
        locales: { type: 'string' },
        currencies: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help) return 'help';
  const problems: string[] = [];
  const checked = values['base-url'] === undefined ? undefined : validateBaseUrl(values['base-url'], { allowInsecureHttp: true });
  if (checked === undefined) problems.push('--base-url is required');
  else if (!checked.ok) problems.push(`--base-url ${checked.reason}`);
  const authType = values['auth-type'];
  if (authType !== 'bearer' && authType !== 'api_key') problems.push('--auth-type must be bearer or api_key');
  const locales = listOption(values.locales, 'locales', LOCALE, 'a BCP 47 language tag (such as de or fr-FR)', problems);
  const currencies = listOption(values.currencies, 'currencies', CURRENCY, 'an ISO 4217 code (three capitals, such as EUR)', problems);
  if (problems.length > 0 || checked?.ok !== true || (authType !== 'bearer' && authType !== 'api_key')) throw new UsageError(problems.join('; '));
  return { baseUrl: checked.url, authType, authKey: values['auth-key'], allowHosts: values['allow-host'], locales, currencies, json: values.json };
}

function printText(report: ConformanceReport, baseUrl: string): string {
  const lines = [
    `${baseUrl}/products: ${report.ok ? 'a sync would succeed' : 'a sync would FAIL'}`,
    `would store: ${report.products} products, ${report.options} options, ${report.units} units (${report.quarantined} quarantined); ${report.bytes} bytes in ${report.fetch_ms} ms`,
    `stable: ${report.stable === null ? 'not compared' : report.stable ? 'yes, two fetches give the same canonical hash' : 'NO, two fetches differ'}`,
    ...report.differences.map((d) => `  differs at ${d}`),
    `errors (${report.errors.length}):`,
    ...report.errors.map((e) => `  - ${e}`),
    `warnings (${report.warnings.length}):`,
    ...report.warnings.map((w) => `  - ${w}`),
    ...probeLines(report),
  ];
  return `${lines.join('\n')}\n`;
}

function latencyLine(name: string, latency: LatencyReport | null): string {
  if (latency === null) return `  ${name}: no answers`;
  const verdict = latency.within_threshold ? 'within' : 'OVER';
  return `  ${name}: p50 ${latency.p50_ms} ms, p99 ${latency.p99_ms} ms over ${latency.calls} calls; p90 ${latency.p90_ms} ms ${verdict} ${latency.threshold_ms} ms`;
}

/** The sections beyond the catalog: availability, the unknown product, languages, currencies, answer times. */
function probeLines({ availability, unknown_product: unknown, locales, currencies, latency }: ConformanceReport): string[] {
  const lines: string[] = [];
  if (availability !== null) {
    lines.push(
      `availability (${availability.sample.join(', ')}; ${availability.local_date_start} to ${availability.local_date_end}): ${availability.slots} slots; calendar ${availability.calendar.replace('_', ' ')}`,
      ...availability.errors.map((e) => `  error: ${e}`),
      ...availability.quirks.map((q) => `  - ${q}`),
    );
  }
  if (unknown !== null) lines.push(`unknown product (GET /products/${unknown.unknown_id}): ${unknown.note}`);
  lines.push(...locales.map((l) => `locale ${l.locale}: ${l.honoured ? 'honoured' : 'NOT honoured'} (Content-Language ${l.content_language ?? 'absent'}; Available-Languages ${l.available_languages?.join(', ') ?? 'absent'})${l.error === undefined ? '' : `: ${l.error}`}`));
  lines.push(...currencies.map((c) => `currency ${c.currency}: ${c.error !== undefined ? `not answered: ${c.error}` : c.honoured === null ? 'no prices to judge by' : `${c.honoured ? 'honoured' : 'NOT honoured'} (prices in ${c.currencies_seen.join(', ')})`}`));
  lines.push('latency:', latencyLine('GET /products', latency.catalog), latencyLine('POST /availability', latency.availability), latencyLine('POST /availability/calendar', latency.calendar));
  return lines;
}

async function run(invocation: Invocation): Promise<number> {
  const config = loadWorkerConfig(process.env);
  const outbound = { ...config.outbound, allowInsecureHttp: true, allowedHosts: [...config.outbound.allowedHosts, ...invocation.allowHosts] };
  const client = createSupplierFromConfig({ ...config, outbound });
  try {
    const target = { baseUrl: invocation.baseUrl, authType: invocation.authType, authKey: invocation.authKey };
    const report = await checkConformance(client, target, { ...conformanceSettings(config), locales: invocation.locales, currencies: invocation.currencies });
    if (invocation.baseUrl.startsWith('http://')) report.warnings.push('base URL is plain http: a deployment accepts it only with ALLOW_INSECURE_OCTO_URLS=true');
    process.stdout.write(invocation.json ? `${JSON.stringify(report, null, 2)}\n` : printText(report, invocation.baseUrl));
    return report.ok ? 0 : 1;
  } finally {
    await client.close();
  }
}

async function main(): Promise<number> {
  let invocation: Invocation | 'help';
  try {
    invocation = parseInvocation(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`conformance: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (invocation === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  return run(invocation);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`conformance: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
