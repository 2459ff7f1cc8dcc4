import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { signDelivery } from '@octo-sync/platform';
import { SOAK_JWT_SECRET, type Cast, type Tenant } from './cast';

const BASE = '/api/v1/partner-integrations';

/** An answer: the status (-1 when none came: not acknowledged) and the parsed body. */
export interface Answer {
  status: number;
  body: unknown;
}

/** Requests to the cast's gateways, spread over them in turn. */
export class Http {
  private turn = 0;
  private readonly admin = `Bearer ${jwt.sign({ role: 'admin' }, SOAK_JWT_SECRET, { algorithm: 'HS256', subject: 'soak', expiresIn: '12h' })}`;

  constructor(private readonly cast: Cast) {}

  async send(path: string, init: { headers?: Record<string, string>; body?: string; method?: string }): Promise<Answer> {
    const gateway = this.cast.gateways[this.turn++ % this.cast.gateways.length]!;
    try {
      const res = await fetch(`${gateway.url}${path}`, { method: init.method ?? 'POST', headers: init.headers, body: init.body, signal: AbortSignal.timeout(20_000) });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
    } catch (err) {
      // No answer (a gateway going down, a timeout): the call was not acknowledged, which the model allows.
      return { status: -1, body: err instanceof Error ? err.name : 'unknown' };
    }
  }

  webhook(tenant: Tenant, route: 'sync/trigger' | 'availability/notify', body: string, extra: Record<string, string> = {}): Promise<Answer> {
    return this.send(`${BASE}/${tenant.id}/${route}`, { headers: { 'content-type': 'application/json', 'x-webhook-secret': tenant.secret, ...extra }, body });
  }

  /** A signed delivery (Standard Webhooks); `id` given again makes it a replay. */
  signed(tenant: Tenant, route: 'sync/trigger' | 'availability/notify', body: string, id = `msg_${randomUUID()}`): Promise<Answer> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = signDelivery(Buffer.from(tenant.secret, 'hex'), id, timestamp, Buffer.from(body));
    const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
    return this.send(`${BASE}/${tenant.id}/${route}`, { headers, body });
  }

  adminCall(tenant: Tenant, action: 'sync?force=true' | 'revoke' | 'approve', extra: Record<string, string> = {}): Promise<Answer> {
    return this.send(`${BASE}/admin/${tenant.id}/${action}`, { headers: { authorization: this.admin, ...extra } });
  }
}
