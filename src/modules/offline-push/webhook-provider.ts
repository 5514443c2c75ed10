import { randomUUID } from 'node:crypto';
import { signHookCall } from '../moderation/index.js';
import type { PushNote, PushProvider, SendOutcome } from './provider.js';

/**
 * A generic pusher: POSTs `{token, title, body, badge, data}` to the business's own push service,
 * signed as webhooks are (X-Weim-Timestamp, X-Weim-Delivery, X-Weim-Signature). 2xx: sent; 404 or
 * 410: the token is gone; anything else: failed.
 */
export class WebhookPushProvider implements PushProvider {
  constructor(private readonly options: { url: string; secret: string; timeoutMs: number }) {}

  async send(token: string, note: PushNote): Promise<SendOutcome> {
    const body = JSON.stringify({ token, ...note });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const delivery = randomUUID();
    const response = await fetch(this.options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-weim-timestamp': timestamp, 'x-weim-delivery': delivery, 'x-weim-signature': signHookCall(this.options.secret, timestamp, delivery, body) },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    await response.arrayBuffer();
    if (response.ok) return 'sent';
    return response.status === 404 || response.status === 410 ? 'invalid_token' : 'failed';
  }
}
