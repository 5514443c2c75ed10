import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Bus } from '../../cluster/bus.js';
import type { Discovery } from '../../cluster/discovery.js';
import { AppError } from '../../errors.js';
import type { AppTarget } from './app-hub.js';

/**
 * Operations on app connections carried to the node that holds them, over the bus, and answered
 * from there once they ran (true: done; false: no such connection there).
 */
export class NodeCalls {
  /** Calls waiting for their answer, by id. */
  private readonly waiting = new Map<string, (ok: boolean) => void>();

  constructor(
    private readonly nodeId: string,
    private readonly bus: Bus,
    private readonly discovery: Pick<Discovery, 'isLive'>,
    private readonly log: Pick<Logger, 'warn'>,
    /** How long an operation carried to another node waits for its answer (`apps.node_call_timeout_ms`). */
    private readonly timeoutMs = 5000,
  ) {}

  /**
   * Carries `payload` (an operation) for `clientId` to `node` and waits for its answer. Carried
   * whatever the discovery says right now: a node whose lease lapsed for a moment under load still
   * holds its connections, and answers. No answer within `timeoutMs`: false when the discovery
   * no longer sees the node (it has no connections), `app_node_unreachable` (503, retry) when it
   * does (it is slow).
   */
  async call(node: string, app: string, clientId: string, payload: string): Promise<boolean> {
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<boolean | undefined>((resolve) => {
      this.waiting.set(id, resolve);
      timer = setTimeout(() => resolve(this.discovery.isLive(node) ? undefined : false), this.timeoutMs);
    });
    try {
      await this.bus.publish(node, { userIds: [], payload, app: { app, clientIds: [clientId], op: true, reply: { node: this.nodeId, id } } });
      const ok = await answered;
      if (ok === undefined) throw new AppError('app_node_unreachable');
      return ok;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  /** An answer from the node that ran a call of this one. */
  answered(target: AppTarget, payload: string): void {
    this.waiting.get(target.answer!)?.((JSON.parse(payload) as { ok: boolean }).ok);
  }

  /** Runs a call another node carried here (`run`) and answers it; a failure is not answered (its caller's wait runs out). */
  serve(target: AppTarget, run: Promise<boolean>): void {
    run
      .catch((err: unknown) => {
        this.log.warn({ err }, 'app connection operation failed');
        return undefined;
      })
      .then((ok) => {
        if (target.reply && ok !== undefined) return this.bus.publish(target.reply.node, { userIds: [], payload: JSON.stringify({ ok }), app: { app: target.app, answer: target.reply.id } });
      })
      .catch((err: unknown) => this.log.warn({ err }, 'answering an app connection operation failed'));
  }
}
