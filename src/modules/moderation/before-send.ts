import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { postSigned } from '../../http/signed-post.js';

export interface BeforeSendOptions {
  url: string;
  /** HMAC-SHA256 key of the X-Weim-Signature header. */
  secret: string;
  timeoutMs: number;
  /** What a send does when the hook times out, fails or answers nonsense. */
  onFailure: 'allow' | 'reject';
}

/** What the hook is told: the message as it would be stored. */
export interface HookMessage {
  from_id: number;
  to_id: number;
  /** 0 friend, 1 group. */
  ope: number;
  type: number;
  body: string;
  client_msg_id: string | null;
  reply_to: number | null;
  mentions: number[] | 'all' | null;
  /** An edit: the id of the message whose body this would become (null: a new message). */
  edit_of: number | null;
}

/** The hook's answer: allow, reject (with a reason for the sender), or rewrite the body. */
const answerSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('allow') }),
  // A reject stays a reject whatever its reason looks like (a bad reason must not let a message through).
  z.object({ action: z.literal('reject'), reason: z.unknown().optional() }),
  z.object({ action: z.literal('rewrite'), body: z.string() }),
]);

export { signHookCall } from '../../http/signed-post.js';

export type HookOutcome = 'allowed' | 'rejected' | 'rewritten' | 'failed_allowed' | 'failed_rejected';

/**
 * `hooks.before_send_url`: called with every message before it is stored (POST JSON, signed:
 * X-Weim-Timestamp, X-Weim-Delivery, X-Weim-Signature). It answers `{"action":"allow"}`,
 * `{"action":"reject","reason":"…"}` (the sender gets 403 / 1008 with the reason) or
 * `{"action":"rewrite","body":"…"}` (stored instead, checked like any body). When it does not
 * answer within `timeoutMs`, answers other than 2xx, or answers something else, `onFailure`
 * decides: `allow` stores the message as sent, `reject` refuses it with 503 / 1503 (retry).
 */
export class BeforeSendHook {
  constructor(
    private readonly options: BeforeSendOptions,
    private readonly log?: Logger,
    private readonly count: (outcome: HookOutcome, seconds: number) => void = () => {},
    private readonly clock: () => number = Date.now,
  ) {}

  /** The body to store (the same, or the hook's rewrite); throws when the message is refused. */
  async screen(message: HookMessage): Promise<string> {
    const started = performance.now();
    const done = (outcome: HookOutcome) => this.count(outcome, (performance.now() - started) / 1000);
    let answer: z.infer<typeof answerSchema>;
    try {
      answer = await this.call(message);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, url: this.options.url }, 'before-send hook failed');
      if (this.options.onFailure === 'allow') {
        done('failed_allowed');
        return message.body;
      }
      done('failed_rejected');
      throw new AppError('check_unavailable', undefined, { retryAfterSeconds: 1 });
    }
    if (answer.action === 'reject') {
      done('rejected');
      const reason = typeof answer.reason === 'string' ? [...answer.reason.replace(/\p{Cc}/gu, ' ')].slice(0, 200).join('').trim() : '';
      throw (reason ? new AppError('rejected_with_reason', { reason }) : new AppError('rejected'));
    }
    if (answer.action === 'rewrite') {
      done('rewritten');
      return answer.body;
    }
    done('allowed');
    return message.body;
  }

  private async call(message: HookMessage): Promise<z.infer<typeof answerSchema>> {
    const response = await postSigned(this.options.url, this.options.secret, JSON.stringify(message), this.options.timeoutMs, this.clock());
    const text = await response.text();
    if (!response.ok) throw new Error(`answered ${response.status}`);
    if (text.length > 1_000_000) throw new Error('answered more than 1 MB');
    const parsed = answerSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`answered ${text.slice(0, 100)}`);
    return parsed.data;
  }
}
