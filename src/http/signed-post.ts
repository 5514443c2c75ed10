import { createHmac, randomUUID } from 'node:crypto';

/**
 * The signature weim puts on its calls to a business's services (the before-send hook, webhooks,
 * the push webhook): hex HMAC-SHA256 over `<timestamp>\n<delivery id>\n<body>`, the push API's
 * scheme mirrored.
 */
export function signHookCall(secret: string, timestamp: string, deliveryId: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${deliveryId}\n${body}`).digest('hex');
}

/**
 * POSTs JSON `body` to `url`, signed: X-Weim-Timestamp (unix seconds), X-Weim-Delivery (a new UUID)
 * and X-Weim-Signature. No redirects; aborted after `timeoutMs`.
 */
export function postSigned(url: string, secret: string, body: string, timeoutMs: number, now = Date.now()): Promise<Response> {
  const timestamp = String(Math.floor(now / 1000));
  const delivery = randomUUID();
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-weim-timestamp': timestamp, 'x-weim-delivery': delivery, 'x-weim-signature': signHookCall(secret, timestamp, delivery, body) },
    body,
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
}
