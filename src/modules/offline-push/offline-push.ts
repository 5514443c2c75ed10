import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { DevicesService, Platform } from '../devices/index.js';
import type { PushNote, PushProvider, SendOutcome } from './provider.js';

export interface StoredForPush {
  id: number;
  senderId: number;
  /** The peer, or the group. */
  toId: number;
  /** 0 friend, 1 group. */
  ope: number;
  type: number;
  body: string;
  conversationId: number;
  seq: number;
  /** Who gets the message (the sender included or not). */
  recipients: readonly number[];
  mentions: number[] | 'all' | null;
}

export interface OfflinePushOptions {
  /** Groups above this size push only to the members a message mentions. */
  groupMaxMembers: number;
  /** Characters of the text a notification shows. */
  previewChars: number;
  /** Attempts at a device before giving up (failures only; a gone token is not retried). */
  attempts: number;
}

const MEDIA_PREVIEW: Record<number, string> = { 1: '[Picture]', 2: '[Voice]', 3: '[Video]', 4: '[Location]', 6: '[File]' };

/**
 * Notifications for users with no socket anywhere in the cluster, after a message is stored: to
 * each device they registered, through its provider. The title is the sender (or the group), the
 * body the text (or "New message" when the user turned previews off), the badge the user's unread
 * messages in that conversation. A provider's "token gone" forgets the device. Runs after the send
 * answered; a failure is logged and counted, never the sender's problem.
 */
export class OfflinePush {
  constructor(
    private readonly db: Db,
    private readonly devices: DevicesService,
    private readonly providers: Partial<Record<Platform, PushProvider>>,
    private readonly online: (userIds: number[]) => Promise<number[]>,
    private readonly options: OfflinePushOptions,
    private readonly log?: Pick<Logger, 'warn'>,
    private readonly count: (platform: string, outcome: SendOutcome) => void = () => {},
  ) {}

  /** Fire and forget: the caller does not wait. */
  messageStored(m: StoredForPush): void {
    this.push(m).catch((err: unknown) => this.log?.warn({ err }, 'offline push failed'));
  }

  /** Resolves when every notification of the message was tried (tests wait on it). */
  async push(m: StoredForPush): Promise<void> {
    let targets = m.recipients.filter((u) => u !== m.senderId);
    if (m.ope === 1 && m.recipients.length > this.options.groupMaxMembers) {
      const mentioned = new Set(Array.isArray(m.mentions) ? m.mentions : []);
      targets = targets.filter((u) => mentioned.has(u));
    }
    if (targets.length === 0) return;
    const online = new Set(await this.online(targets));
    const offline = targets.filter((u) => !online.has(u));
    const devices = (await this.devices.devicesOf(offline)).filter((d) => this.providers[d.platform] !== undefined);
    if (devices.length === 0) return;
    const title = await this.title(m);
    const unread = await this.unread(m, [...new Set(devices.map((d) => d.userId))]);
    const preview = MEDIA_PREVIEW[m.type] ?? [...m.body].slice(0, this.options.previewChars).join('');
    await Promise.all(devices.map(async (d) => {
      const note: PushNote = {
        title,
        body: d.previews ? preview : 'New message',
        badge: unread.get(d.userId) ?? 1,
        data: { conversation_id: String(m.conversationId), seq: String(m.seq), message_id: String(m.id), ope: String(m.ope) },
      };
      const outcome = await this.sendWithRetries(this.providers[d.platform]!, d.token, note);
      this.count(d.platform, outcome);
      if (outcome === 'invalid_token') await this.devices.forget(d.id);
    }));
  }

  private async sendWithRetries(provider: PushProvider, token: string, note: PushNote): Promise<SendOutcome> {
    let outcome: SendOutcome = 'failed';
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      outcome = await provider.send(token, note).catch(() => 'failed' as const);
      if (outcome !== 'failed') return outcome;
      if (attempt < this.options.attempts) await new Promise((r) => setTimeout(r, 200 * attempt));
    }
    return outcome;
  }

  /** The sender's nickname, and the group's name before it in a group. */
  private async title(m: StoredForPush): Promise<string> {
    const sender = await this.db.selectFrom('users').select('nickname').where('id', '=', m.senderId).executeTakeFirst();
    if (m.ope !== 1) return sender?.nickname ?? '';
    const group = await this.db.selectFrom('groups').select('name').where('id', '=', m.toId).executeTakeFirst();
    return `${group?.name ?? ''}: ${sender?.nickname ?? ''}`;
  }

  /** Each user's unread messages in the conversation (seqs past their read cursor; events count too). */
  private async unread(m: StoredForPush, userIds: number[]): Promise<Map<number, number>> {
    const rows = await this.db.selectFrom('read_cursors').select(['user_id', 'read_seq']).where('conversation_id', '=', m.conversationId).where('user_id', 'in', userIds).execute();
    const read = new Map(rows.map((r) => [Number(r.user_id), Number(r.read_seq)]));
    return new Map(userIds.map((u) => [u, Math.min(99, Math.max(1, m.seq - (read.get(u) ?? 0)))]));
  }
}
