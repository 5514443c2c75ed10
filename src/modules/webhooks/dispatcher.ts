import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import { postSigned } from '../../http/signed-post.js';

export interface DispatcherOptions {
  /** The receiver's name: this dispatcher sends only the outbox rows recorded for it. */
  endpoint: string;
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
  /** Dead events are deleted this long after they were recorded. */
  deadRetentionMs: number;
}

export interface DeliveredEvent {
  /** Stable across retries (`wh_<outbox id>`): a receiver that saw it already ignores it. */
  id: string;
  type: string;
  created_at: number;
  data: Record<string, unknown>;
}

export type DeliveryOutcome = 'delivered' | 'failed' | 'dead';

/** One round's hold on the rows it claimed. */
interface Claim {
  by: string;
  until: number;
}

interface ClaimedRow {
  id: number;
  event: string;
  order_key: string;
  payload: string;
  attempts: number;
  created_at: number;
}

/**
 * Delivers `webhook_outbox` after commit, on every node (each claims what it sends, under a token
 * of its own, so two nodes never send one event at once): every `intervalMs` it takes the keys
 * whose oldest event (the head) is due and free, claims each key's run from the head on, and POSTs
 * the runs in one signed request, `{"events": [...]}`, in order per key; a run that failed before
 * goes in a request of its own. A 2xx answer deletes them; anything else (or no answer within
 * `timeoutMs`) gives each event its own backoff; a key's later events wait for its head, so they
 * never overtake it; past `maxAttempts` an event is dead and its key goes on.
 * At least once: a node that dies after the POST but before the delete leaves the events to be
 * sent again when the claim lapses, with the same ids.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private depth = { pending: 0, dead: 0 };
  private lastDepthAt = 0;
  private lastPruneAt = 0;
  /** This dispatcher's claims are `<token>:<round>`. */
  private readonly nodeToken = randomUUID();
  private round = 0;

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

  /** This receiver's events waiting and dead, as of the last look (at most a few seconds old). */
  get outboxDepth(): { pending: number; dead: number } {
    return this.depth;
  }

  /** One round now (tests; the timer calls it too). Resolves to how many events were delivered. */
  async runOnce(): Promise<number> {
    const now = this.clock();
    if (now - this.lastDepthAt >= 10_000) await this.measureDepth(now);
    const claim: Claim = { by: `${this.nodeToken}:${++this.round}`, until: now + this.options.claimMs };
    const runs = await this.claim(now, claim);
    if (runs.length === 0) return 0;
    // Runs whose head never failed go in one POST; a head that failed before goes alone (claim
    // took it without the events behind it), so that an event the receiver keeps refusing holds
    // back, and takes the blame for, its own key only.
    const fresh = runs.filter((run) => run[0]!.attempts === 0);
    const posts = [...(fresh.length > 0 ? [fresh] : []), ...runs.filter((run) => run[0]!.attempts > 0).map((run) => [run])];
    let delivered = 0;
    for (const post of posts) {
      const rows = post.flat();
      // Never POST on a claim that could lapse before the answer: another node would send them too.
      if (this.clock() + this.options.timeoutMs >= claim.until) {
        await this.release(rows, claim);
        continue;
      }
      try {
        await this.post(await this.describe(rows));
      } catch (err) {
        await this.pushBack(post, claim, (err as Error).message);
        continue;
      }
      await this.db.deleteFrom('webhook_outbox').where('id', 'in', rows.map((r) => r.id)).execute();
      this.count('delivered', rows.length);
      delivered += rows.length;
    }
    return delivered;
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

  /**
   * The runs this node now holds: for each key whose oldest waiting event (its head) is due and
   * free, the key's events from the head on, claimed under `claim` (an update that takes only free
   * rows; a key another node took part of first is let go).
   */
  private async claim(now: number, claim: Claim): Promise<ClaimedRow[][]> {
    const { batchSize } = this.options;
    const heads = await this.db
      .selectFrom('webhook_outbox as h')
      .select(['h.id', 'h.order_key', 'h.attempts'])
      .where('h.endpoint', '=', this.options.endpoint)
      .where('h.dead', '=', 0)
      .where('h.next_attempt_at', '<=', now)
      .where('h.claimed_until', '<', now)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('webhook_outbox as e').select('e.id').where('e.endpoint', '=', this.options.endpoint).whereRef('e.order_key', '=', 'h.order_key').where('e.dead', '=', 0).whereRef('e.id', '<', 'h.id'))))
      .orderBy('h.id')
      .limit(batchSize)
      .execute();
    const runs: ClaimedRow[][] = [];
    let taken = 0;
    for (const head of heads) {
      if (taken >= batchSize) break;
      const run = await this.db
        .selectFrom('webhook_outbox')
        .select(['id', 'event', 'order_key', 'payload', 'attempts', 'created_at'])
        .where('endpoint', '=', this.options.endpoint)
        .where('order_key', '=', head.order_key)
        .where('dead', '=', 0)
        .where('id', '>=', head.id)
        .orderBy('id')
        // A head that failed before is retried alone.
        .limit(Number(head.attempts) > 0 ? 1 : batchSize - taken)
        .execute();
      const ids = run.map((r) => Number(r.id));
      const result = await this.db.updateTable('webhook_outbox').set({ claimed_until: claim.until, claimed_by: claim.by }).where('id', 'in', ids).where('claimed_until', '<', now).executeTakeFirst();
      const rows = run.map((r) => ({ ...r, id: Number(r.id), attempts: Number(r.attempts), created_at: Number(r.created_at) }));
      if (Number(result.numUpdatedRows) !== ids.length) {
        // Another node took part of it first: leave the key to it.
        await this.release(rows, claim);
        continue;
      }
      runs.push(rows);
      taken += rows.length;
    }
    return runs;
  }

  /** Gives back what this round claimed (only rows it still holds). */
  private async release(rows: readonly ClaimedRow[], claim: Claim): Promise<void> {
    await this.db.updateTable('webhook_outbox').set({ claimed_until: 0, claimed_by: '' }).where('id', 'in', rows.map((r) => r.id)).where('claimed_by', '=', claim.by).execute();
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
    const response = await postSigned(this.options.url, this.options.secret, JSON.stringify({ events }), this.options.timeoutMs, this.clock());
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`answered ${response.status}`);
  }

  /**
   * A failed POST: the head of each run takes the blame (attempts +1, then its own backoff, or
   * dead past `maxAttempts`); the events behind it are given back untouched (they wait for it).
   * Only rows this round still holds (a lapsed claim is another node's now).
   */
  private async pushBack(runs: readonly ClaimedRow[][], claim: Claim, reason: string): Promise<void> {
    const now = this.clock();
    let dead = 0;
    for (const run of runs) {
      const head = run[0]!;
      const attempts = head.attempts + 1;
      const change = attempts >= this.options.maxAttempts
        ? { dead: 1, attempts, claimed_until: 0, claimed_by: '' }
        : { attempts, next_attempt_at: now + Math.min(this.options.maxBackoffMs, this.options.intervalMs * 2 ** Math.min(attempts - 1, 20)), claimed_until: 0, claimed_by: '' };
      await this.db.updateTable('webhook_outbox').set(change).where('id', '=', head.id).where('claimed_by', '=', claim.by).execute();
      if (attempts >= this.options.maxAttempts) dead++;
      if (run.length > 1) await this.release(run.slice(1), claim);
    }
    this.count('failed', runs.length);
    if (dead > 0) this.count('dead', dead);
    this.log?.warn({ reason, keys: runs.length, dead }, 'webhook delivery failed');
  }

  private async measureDepth(now: number): Promise<void> {
    this.lastDepthAt = now;
    if (now - this.lastPruneAt >= 3_600_000) {
      this.lastPruneAt = now;
      await this.db.deleteFrom('webhook_outbox').where('endpoint', '=', this.options.endpoint).where('dead', '=', 1).where('created_at', '<', now - this.options.deadRetentionMs).execute();
    }
    const rows = await this.db.selectFrom('webhook_outbox').select(['dead', (eb) => eb.fn.countAll<number>().as('n')]).where('endpoint', '=', this.options.endpoint).groupBy('dead').execute();
    this.depth = { pending: Number(rows.find((r) => Number(r.dead) === 0)?.n ?? 0), dead: Number(rows.find((r) => Number(r.dead) === 1)?.n ?? 0) };
  }
}
