import type { BeforeSendHook, HookMessage } from './before-send.js';
import type { WordFilter } from './word-filter.js';

/**
 * What a business can veto or change before anything is stored: the word filter on text messages,
 * nicknames, group names and notices, then the before-send hook on every message (it sees the
 * filtered text). Either may be off; with both off every call returns its input.
 */
export class Moderation {
  constructor(
    readonly filter?: WordFilter,
    readonly hook?: BeforeSendHook,
  ) {}

  /** A nickname, group name or notice as it may be kept (masked), or refused (400 / 1007). */
  text(field: string, text: string): string {
    return this.filter ? this.filter.screen(field, text) : text;
  }

  /** A message body as it may be stored: filtered (text types), then as the hook allows or rewrites it. */
  async message(message: HookMessage, isText: boolean): Promise<string> {
    let body = message.body;
    if (isText && this.filter) body = this.filter.screen('body', body);
    if (this.hook) body = await this.hook.screen(body === message.body ? message : { ...message, body });
    return body;
  }

  stop(): void {
    this.filter?.stop();
  }
}

export const NO_MODERATION = new Moderation();
