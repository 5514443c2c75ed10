import type { Generated } from 'kysely';

/** `webhook_outbox` (migration 0039): events waiting for the webhook receiver. */
export interface WebhookOutboxTable {
  id: Generated<number>;
  /** The receiver it is for (`webhooks.endpoints[].name`; `default`: `webhooks.url`). Migration 0042. */
  endpoint: Generated<string>;
  /** One of WEBHOOK_EVENTS. */
  event: string;
  /** Events of one key are delivered in id order: `c<conversation>`, `f<lo>-<hi>`, `g<group>`, `u<user>`. */
  order_key: string;
  /** The event's data, JSON. */
  payload: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  /** A node delivering this row holds it until then (epoch ms; 0 or past: free). */
  claimed_until: Generated<number>;
  /** The claim's owner: a token of one node's one round (its release and updates check it). */
  claimed_by: Generated<string>;
  /** 1: failed `webhooks.max_attempts` times; kept, never retried. */
  dead: Generated<number>;
  created_at: number;
}
