import { parseArgs } from 'node:util';
import { ConfigError } from '@octo-sync/platform';
import { signToken } from './auth';
import { loadGatewayConfig } from './config';

const USAGE = 'usage: npm run token -- --role partner|admin|reader --sub <partner id> [--ttl 1h]';

/** Prints a development JWT signed with the gateway's configured key. */
function main(): void {
  const { values } = parseArgs({
    options: { role: { type: 'string' }, sub: { type: 'string' }, ttl: { type: 'string', default: '1h' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const role = values.role;
  if (role !== 'partner' && role !== 'admin' && role !== 'reader') throw new Error(`--role must be partner, admin or reader\n${USAGE}`);
  if (!values.sub) throw new Error(`--sub is required\n${USAGE}`);
  const ttl = values.ttl ?? '1h';
  if (!/^\d+(ms|s|m|h|d|w|y)?$/.test(ttl)) throw new Error('--ttl must be a number of seconds or like 30m, 1h, 7d');
  const config = loadGatewayConfig(process.env);
  if (config.devDefaults.includes('JWT_SECRET')) process.stderr.write('token: signed with the DEVELOPMENT JWT_SECRET\n');
  process.stdout.write(`${signToken(config.jwt, { role, sub: values.sub, ttl: /^\d+$/.test(ttl) ? Number(ttl) : ttl })}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`token: ${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
