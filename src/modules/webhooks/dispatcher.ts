import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import { signHookCall } from '../moderation/index.js';

export interface DispatcherOptions {
  url: string;
  secret: string;
  /** How often due events are looked for. */
  intervalMs: number;
  /** Most events in one POST. */
  batchSize: number;
  timeoutMs: number;
  /** After this many failed deliveries an event is dead (kept, counted, not retried). */
  maxAttempts: number;
  /** Backoff after a failure: intervalMs × 2^(attempts−1), at most this. */
  maxBackoffMs: number;
  /** A claim lasts this long: a node that dies holding events frees them after it. */
  claimMs: number;
}

export interface DeliveredEvent {
  /** Stable across retries (`wh_<outbox id>`): a receiver that saw it already ignores it. */
  id: string;
  type: string;
  created_at: number;
  data: Record<string, unknown>;
}

export type DeliveryOutcome = 'delivered' | 'failed' | 'dead';

/**
 * Delivers `webhook_outbox` after commit, on every node (each claims what it sends, so two nodes
 * never send one event at once): every `intervalMs` it takes the keys whose oldest event is due
 * and free, claims each key's run of events from that oldest one on, and POSTs them in one signed
 * request, `{"events": [...]}`, in order per key. A 2xx answer deletes them; anything else (or no
 * answer within `timeoutMs`) pushes the whole run back with exponential backoff, so a key's later
 * events never overtake an earlier one; past `maxAttempts` an event is dead and its key goes on.
 * At least once: a node that dies after the POST but before the delete leaves the events to be
 * sent again when the claim lapses, with the same ids.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private depth = { pending: 0, dead: 0 };
  private lastDepthAt = 0;

  constructor(
    private readonly db: Db,
    private readonly options: DispatcherOptions,
    private readonly log?: Pick<Logger, 'warn' | 'error'>,
    private readonly count: (outcome: DeliveryOutcome, events: number) => void = () => {},
    private readonly clock: () => number = Date.now,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Events waiting and events dead, as of the last look (at most a few seconds old). */
  get outboxDepth(): { pending: number; dead: number } {
    return this.depth;
  }

  /** One round now (tests; the timer calls it too). Resolves to how many events were delivered. */
  async runOnce(): Promise<number> {
    const now = this.clock();
    if (now - this.lastDepthAt >= 2000) await this.measureDepth(now);
    const claimed = await this.claim(now);
    if (claimed.length === 0) return 0;
    const events = await this.describe(claimed);
    const ids = claimed.map((r) => r.id);
    try {
      await this.post(events);
    } catch (err) {
      await this.pushBack(claimed, now, (err as Error).message);
      return 0;
    }
    await this.db.deleteFrom('webhook_outbox').where('id', 'in', ids).execute();
    this.count('delivered', ids.length);
    return ids.length;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .then((sent) => this.schedule(sent >= this.options.batchSize ? 0 : this.options.intervalMs))
        .catch((err: unknown) => {
          this.log?.error({ err }, 'webhook delivery round failed');
          this.schedule(this.options.intervalMs);
        });
    }, delay);
    this.timer.unref();
  }

  /** The runs this node now holds: per key, its oldest event on, while the oldest is due and free. */
  private async claim(now: number) {
    const { batchSize, claimMs } = this.options;
    const due = await this.db
      .selectFrom('webhook_outbox')
      .select(['id', 'order_key'])
      .where('dead', '=', 0)
      .where('next_attempt_at', '<=', now)
      .where('claimed_until', '<', now)
      .orderBy('id')
      .limit(batchSize)
      .execute();
    const keys = [...new Set(due.map((r) => r.order_key))];
    if (keys.length === 0) return [];
    // A key goes only when its oldest waiting event is among the due and free ones.
    const heads = await this.db.selectFrom('webhook_outbox').select(['order_key', (eb) => eb.fn.min<number>('id').as('head')]).where('dead', '=', 0).where('order_key', 'in', keys).groupBy('order_key').execute();
    const dueIds = new Set(due.map((r) => Number(r.id)));
    const claimed: Array<{ id: number; event: string; order_key: string; payload: string; attempts: number; created_at: number }> = [];
    const until = now + claimMs;
    for (const { order_key: key, head } of heads) {
      if (!dueIds.has(Number(head)) || claimed.length >= batchSize) continue;
      const run = await this.db
        .selectFrom('webhook_outbox')
        .select(['id', 'event', 'order_key', 'payload', 'attempts', 'created_at'])
        .where('order_key', '=', key)
        .where('dead', '=', 0)
        .orderBy('id')
        .limit(batchSize - claimed.length)
        .execute();
      const ids = run.map((r) => Number(r.id));
      const taken = await this.db.updateTable('webhook_outbox').set({ claimed_until: until }).where('id', 'in', ids).where('claimed_until', '<', now).executeTakeFirst();
      if (Number(taken.numUpdatedRows) !== ids.length) {
        // Another node took part of it first: leave the key to it.
        await this.db.updateTable('webhook_outbox').set({ claimed_until: 0 }).where('id', 'in', ids).where('claimed_until', '=', until).execute();
        continue;
      }
      claimed.push(...run.map((r) => ({ ...r, id: Number(r.id), attempts: Number(r.attempts), created_at: Number(r.created_at) })));
    }
    return claimed;
  }

  /** The events as the receiver gets them; a sent message gets its id (unknown when it was recorded). */
  private async describe(rows: ReadonlyArray<{ id: number; event: string; payload: string; created_at: number }>): Promise<DeliveredEvent[]> {
    const events = rows.map((r) => ({ id: `wh_${r.id}`, type: r.event, created_at: r.created_at, data: JSON.parse(r.payload) as Record<string, unknown> }));
    const sent = events.filter((e) => e.type === 'message.sent');
    if (sent.length > 0) {
      const found = await this.db
        .selectFrom('messages')
        .select(['id', 'conversation_id', 'seq'])
        .where((eb) => eb.or(sent.map((e) => eb.and([eb('conversation_id', '=', Number(e.data.conversation_id)), eb('seq', '=', Number(e.data.seq))]))))
        .execute();
      const idOf = new Map(found.map((m) => [`${m.conversation_id}:${m.seq}`, Number(m.id)]));
      for (const e of sent) e.data = { message_id: idOf.get(`${e.data.conversation_id}:${e.data.seq}`) ?? null, ...e.data };
    }
    return events;
  }

  private async post(events: DeliveredEvent[]): Promise<void> {
    const body = JSON.stringify({ events });
    const timestamp = String(Math.floor(this.clock() / 1000));
    const delivery = randomUUID();
    const response = await fetch(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-weim-timestamp': timestamp,
        'x-weim-delivery': delivery,
        'x-weim-signature': signHookCall(this.options.secret, timestamp, delivery, body),
      },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`answered ${response.status}`);
  }

  /** A failed run: each event's attempts +1, then backoff, or dead past `maxAttempts`; claims released. */
  private async pushBack(rows: ReadonlyArray<{ id: number; attempts: number }>, now: number, reason: string): Promise<void> {
    const attempts = rows[0]!.attempts + 1;
    const dead = rows.filter((r) => r.attempts + 1 >= this.options.maxAttempts).map((r) => r.id);
    const alive = rows.filter((r) => r.attempts + 1 < this.options.maxAttempts).map((r) => r.id);
    const backoff = Math.min(this.options.maxBackoffMs, this.options.intervalMs * 2 ** Math.min(attempts - 1, 20));
    if (dead.length > 0) await this.db.updateTable('webhook_outbox').set((eb) => ({ dead: 1, attempts: eb('attempts', '+', 1), claimed_until: 0 })).where('id', 'in', dead).execute();
    if (alive.length > 0) await this.db.updateTable('webhook_outbox').set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: now + backoff, claimed_until: 0 })).where('id', 'in', alive).execute();
    this.count('failed', rows.length);
    if (dead.length > 0) this.count('dead', dead.length);
    this.log?.warn({ reason, events: rows.length, dead: dead.length, retryInMs: backoff }, 'webhook delivery failed');
  }

  private async measureDepth(now: number): Promise<void> {
    this.lastDepthAt = now;
    const rows = await this.db.selectFrom('webhook_outbox').select(['dead', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('dead').execute();
    this.depth = { pending: Number(rows.find((r) => Number(r.dead) === 0)?.n ?? 0), dead: Number(rows.find((r) => Number(r.dead) === 1)?.n ?? 0) };
  }
}
