import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { LuaScript, shardedKey, type RedisConnection } from '@octo-sync/jobs';
import { ApiError } from './errors';
import type { Reply } from './route';

/** The body a replayed answer carries instead of one too large to keep. */
const REPLAYED_BODY = JSON.stringify({ success: 1, data: { replayed: true } });
const PENDING = 'pending:';
/** A claim outlives its holder's longest answer by this much, then lapses (a crashed gateway holds nothing). */
const CLAIM_SLACK_MS = 10_000;
const POLL_FIRST_MS = 10;
const POLL_MAX_MS = 200;

/** Replaces a claim by the answer, or drops it (empty ARGV[2]), only while the claim is still ours. */
const SETTLE_SCRIPT = new LuaScript(`if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1`);

export interface ReplayOptions {
  /** Redis key prefix (QUEUE_PREFIX). */
  prefix: string;
  /** How long a 2xx answer is remembered. */
  ttlMs: number;
  /** Answers with a larger body are remembered as their status and a short `replayed` body. */
  bodyMaxBytes: number;
}

interface Stored {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Standard Webhooks replay safety: the 2xx answer of a signed delivery is remembered per
 * integration and `webhook-id` (one Redis key each, first writer wins with SET NX, expiring after
 * `ttlMs`), and a repeat gets it again instead of being processed. Only 2xx answers are kept, so
 * a retry after any refusal is processed normally. A copy that arrives while the first is being
 * answered waits for that answer, polling, up to the route's wait bound; then 409
 * WEBHOOK_IN_FLIGHT.
 */
export class ReplayStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly options: ReplayOptions,
  ) {}

  /** Answers delivery `webhookId` of `integrationId` once: `process` runs for the first copy only. */
  async deliver(integrationId: string, webhookId: string, waitMs: number, process: () => Promise<Reply>): Promise<Reply> {
    const key = this.keyOf(integrationId, webhookId);
    const deadline = Date.now() + waitMs;
    let pollMs = POLL_FIRST_MS;
    for (;;) {
      const claim = PENDING + randomUUID();
      if ((await this.redis.set(key, claim, 'PX', waitMs + CLAIM_SLACK_MS, 'NX')) === 'OK') return this.answerFirst(key, claim, process);
      const seen = await this.redis.get(key);
      if (seen !== null && !seen.startsWith(PENDING)) return replayOf(JSON.parse(seen) as Stored);
      if (Date.now() >= deadline) {
        throw new ApiError('WEBHOOK_IN_FLIGHT', ['webhook-id: a delivery with this id is being processed; retry shortly'], { headers: { 'Retry-After': '1' } });
      }
      await delay(Math.min(pollMs, Math.max(1, deadline - Date.now())));
      pollMs = Math.min(POLL_MAX_MS, pollMs * 2);
    }
  }

  private async answerFirst(key: string, claim: string, process: () => Promise<Reply>): Promise<Reply> {
    let reply: Reply;
    try {
      reply = await process();
    } catch (err) {
      await this.settle(key, claim, '');
      throw err;
    }
    const remembered = reply.status >= 200 && reply.status < 300 && reply.contentType === undefined;
    await this.settle(key, claim, remembered ? this.stored(reply) : '');
    return reply;
  }

  private stored(reply: Reply): string {
    let body = JSON.stringify(reply.body);
    if (Buffer.byteLength(body, 'utf8') > this.options.bodyMaxBytes) body = REPLAYED_BODY;
    const entry: Stored = { status: reply.status, headers: reply.headers ?? {}, body };
    return JSON.stringify(entry);
  }

  private async settle(key: string, claim: string, value: string): Promise<void> {
    await SETTLE_SCRIPT.call(this.redis, [key], [claim, value, this.options.ttlMs]);
  }

  /** One key per delivery, in its integration's slot; the id is hashed to bound the key's size. */
  private keyOf(integrationId: string, webhookId: string): string {
    const digest = createHash('sha256').update(webhookId, 'utf8').digest('base64url').slice(0, 22);
    return shardedKey(this.options.prefix, 'webhook-replay', integrationId, digest);
  }
}

function replayOf(stored: Stored): Reply {
  return { status: stored.status, body: JSON.parse(stored.body) as unknown, headers: { ...stored.headers, 'Webhook-Replayed': 'true' } };
}
