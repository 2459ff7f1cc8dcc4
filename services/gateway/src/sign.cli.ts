import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { signDelivery, signingKeyOf } from '@octo-sync/platform';

const USAGE =
  'usage: npm run -s sign -- --secret <64 hex or whsec_…> (--body <json> | --body-file <path>) [--id <webhook-id>] [--timestamp <unix s>]\n' +
  'prints the three Standard Webhooks headers, one per line, as curl -H takes them';

/** Prints `webhook-id`, `webhook-timestamp` and `webhook-signature` for a body, so a partner can test with curl. */
function main(): void {
  const { values } = parseArgs({
    options: {
      secret: { type: 'string' },
      body: { type: 'string' },
      'body-file': { type: 'string' },
      id: { type: 'string' },
      timestamp: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const key = values.secret === undefined ? undefined : signingKeyOf(values.secret);
  if (key === undefined) throw new Error(`--secret must be the webhook_secret (64 hex) or webhook_signing_secret (whsec_…)\n${USAGE}`);
  if ((values.body === undefined) === (values['body-file'] === undefined)) throw new Error(`give exactly one of --body, --body-file\n${USAGE}`);
  const body = values.body === undefined ? readFileSync(values['body-file']!) : Buffer.from(values.body, 'utf8');
  const id = values.id ?? `msg_${randomUUID()}`;
  const timestamp = values.timestamp ?? String(Math.floor(Date.now() / 1000));
  if (!/^\d{1,12}$/.test(timestamp)) throw new Error('--timestamp must be Unix seconds');
  process.stdout.write(`webhook-id: ${id}\nwebhook-timestamp: ${timestamp}\nwebhook-signature: ${signDelivery(key, id, timestamp, body)}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`sign: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
