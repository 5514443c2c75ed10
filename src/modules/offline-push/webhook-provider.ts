import { postSigned } from '../../http/signed-post.js';
import type { PushNote, PushProvider, SendOutcome } from './provider.js';

/**
 * A generic pusher: POSTs `{token, title, body, badge, data}` to the business's own push service,
 * signed as webhooks are (X-Weim-Timestamp, X-Weim-Delivery, X-Weim-Signature). 2xx: sent; 404 or
 * 410: the token is gone; anything else: failed.
 */
export class WebhookPushProvider implements PushProvider {
  constructor(private readonly options: { url: string; secret: string; timeoutMs: number }) {}

  async send(token: string, note: PushNote): Promise<SendOutcome> {
    const response = await postSigned(this.options.url, this.options.secret, JSON.stringify({ token, ...note }), this.options.timeoutMs);
    await response.arrayBuffer();
    if (response.ok) return 'sent';
    return response.status === 404 || response.status === 410 ? 'invalid_token' : 'failed';
  }
}
