import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { BeforeSendHook, type HookOutcome } from './before-send.js';
import { Moderation } from './moderation.js';
import { WordFilter } from './word-filter.js';

export { BeforeSendHook, signHookCall, type HookMessage } from './before-send.js';
export { Moderation, NO_MODERATION } from './moderation.js';
export { fold, MASK, WordFilter } from './word-filter.js';

/** The configured word filter (`filter.*`) and before-send hook (`hooks.*`); each off when unset. */
export function createModeration(config: Config, log?: Logger, observe?: (outcome: HookOutcome, seconds: number) => void): Moderation {
  const filter = config.filter.words_file ? new WordFilter(config.filter.words_file, config.filter.mode, log) : undefined;
  filter?.watch();
  const hooks = config.hooks;
  const hook = hooks.before_send_url
    ? new BeforeSendHook({ url: hooks.before_send_url, secret: hooks.secret, timeoutMs: hooks.before_send_timeout_ms, onFailure: hooks.before_send_on_failure }, log, observe)
    : undefined;
  return new Moderation(filter, hook);
}
