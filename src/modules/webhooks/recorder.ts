import type { Executor } from '../../db/database.js';

/** What the webhook receiver can be told about, each the `type` of an event. */
export const WEBHOOK_EVENTS = [
  'message.sent', 'message.withdrawn', 'message.edited',
  'friend.requested', 'friend.accepted', 'friend.removed',
  'group.created', 'group.joined', 'group.left', 'group.removed', 'group.dissolved',
  'user.online', 'user.offline',
  'app.connected', 'app.disconnected', 'app.bound', 'app.joined',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** A receiver's name (`default` for `webhooks.url`) and the events it subscribed to. */
export interface WebhookSubscription {
  endpoint: string;
  events: readonly string[];
}

/**
 * Writes webhook events into `webhook_outbox` inside the transaction of what they report, so an
 * event exists exactly when its change committed: one row for each endpoint that subscribed to it
 * (each endpoint's rows are delivered on their own). Events nobody subscribed to are not written.
 */
export class WebhookRecorder {
  private readonly endpointsOf = new Map<string, string[]>();

  constructor(subscriptions: readonly WebhookSubscription[] = [], private readonly clock: () => number = Date.now) {
    for (const s of subscriptions) for (const event of s.events) this.endpointsOf.set(event, [...(this.endpointsOf.get(event) ?? []), s.endpoint]);
  }

  wants(event: WebhookEvent): boolean {
    return this.endpointsOf.has(event);
  }

  /** The endpoints that subscribed to `event`. */
  endpoints(event: WebhookEvent): readonly string[] {
    return this.endpointsOf.get(event) ?? [];
  }

  /** Records `event` (ordered with the others of `orderKey`) in `trx` for each endpoint that wants it. */
  async record(trx: Executor, event: WebhookEvent, orderKey: string, data: Record<string, unknown>): Promise<void> {
    const endpoints = this.endpointsOf.get(event);
    if (!endpoints) return;
    const now = this.clock();
    const payload = JSON.stringify(data);
    await trx.insertInto('webhook_outbox').values(endpoints.map((endpoint) => ({ endpoint, event, order_key: orderKey, payload, next_attempt_at: now, created_at: now }))).execute();
  }
}

/**
 * `message.sent` for each message of a writer batch and each endpoint that wants it, in its
 * transaction (one statement). The message's id is not known yet (the insert assigns it): the event
 * names its conversation and seq, and the dispatcher adds the id.
 */
export async function recordSentMessages(
  trx: Executor,
  endpoints: readonly string[],
  rows: ReadonlyArray<{ conversation_id: number; seq: number; sender_id: number; ope: number; to_id: number; type: number; body: string; client_msg_id: string | null; reply_to: number | null; mentions: number[] | 'all' | null; created_at: number }>,
): Promise<void> {
  if (rows.length === 0 || endpoints.length === 0) return;
  await trx
    .insertInto('webhook_outbox')
    .values(endpoints.flatMap((endpoint) => rows.map((r) => ({
      endpoint,
      event: 'message.sent',
      order_key: orderKey.conversation(r.conversation_id),
      payload: JSON.stringify({
        conversation_id: r.conversation_id, seq: r.seq, from_id: r.sender_id, to_id: r.to_id, ope: r.ope, type: r.type, body: r.body,
        client_msg_id: r.client_msg_id, reply_to: r.reply_to, mentions: r.mentions, created_at: r.created_at,
      }),
      next_attempt_at: r.created_at,
      created_at: r.created_at,
    }))))
    .execute();
}

/** No receiver: records nothing. */
export const NO_WEBHOOKS = new WebhookRecorder();

/** Order keys: events of one key reach the receiver in the order they were recorded. */
export const orderKey = {
  conversation: (id: number) => `c${id}`,
  friends: (a: number, b: number) => `f${Math.min(a, b)}-${Math.max(a, b)}`,
  group: (id: number) => `g${id}`,
  user: (id: number) => `u${id}`,
  /** A realtime gateway connection: its events in order. */
  appConnection: (clientId: string) => `a${clientId}`.slice(0, 40),
};
