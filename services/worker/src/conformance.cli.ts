import { parseArgs } from 'node:util';
import { checkConformance, validateBaseUrl, type ConformanceReport } from '@octo-sync/octo';
import { loadWorkerConfig } from './config';
import { conformanceSettings } from './connection-test/test-connection.handler';
import { createSupplierFromConfig } from './runtime';

const USAGE = `usage: npm run conformance -- --base-url URL [--auth-type bearer|api_key] [--auth-key KEY] [--allow-host HOST:PORT ...] [--json]

Fetches GET {base-url}/products twice, as a sync would, and reports what would be stored, the
errors that would fail a sync, the quirks it tolerates, and whether both fetches are the same.
Exit status: 0 a sync would succeed, 1 it would fail, 2 bad usage.
--allow-host (or OCTO_ALLOWED_HOSTS) lets it reach a private or loopback host:port.`;

/** Bad command-line input: exit 2 with the usage. */
class UsageError extends Error {}

interface Invocation {
  baseUrl: string;
  authType: 'bearer' | 'api_key';
  authKey: string;
  allowHosts: string[];
  json: boolean;
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
  if (values['base-url'] === undefined) throw new UsageError('--base-url is required');
  const checked = validateBaseUrl(values['base-url'], { allowInsecureHttp: true });
  if (!checked.ok) throw new UsageError(`--base-url ${checked.reason}`);
  const authType = values['auth-type'];
  if (authType !== 'bearer' && authType !== 'api_key') throw new UsageError('--auth-type must be bearer or api_key');
  return { baseUrl: checked.url, authType, authKey: values['auth-key'], allowHosts: values['allow-host'], json: values.json };
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
  ];
  return `${lines.join('\n')}\n`;
}

async function run(invocation: Invocation): Promise<number> {
  const config = loadWorkerConfig(process.env);
  const outbound = { ...config.outbound, allowInsecureHttp: true, allowedHosts: [...config.outbound.allowedHosts, ...invocation.allowHosts] };
  const client = createSupplierFromConfig({ ...config, outbound });
  try {
    const target = { baseUrl: invocation.baseUrl, authType: invocation.authType, authKey: invocation.authKey };
    const report = await checkConformance(client, target, conformanceSettings(config));
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
