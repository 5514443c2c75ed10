import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import { type DeliveryOutcome, WebhookDispatcher } from './dispatcher.js';
import { WEBHOOK_EVENTS, WebhookRecorder, NO_WEBHOOKS } from './recorder.js';

export type { WebhookOutboxTable } from './webhooks.table.js';
export { WebhookDispatcher, type DeliveredEvent } from './dispatcher.js';
export { NO_WEBHOOKS, orderKey, recordSentMessages, WEBHOOK_EVENTS, type WebhookEvent, WebhookRecorder } from './recorder.js';

/** The events `webhooks.events` names (`*`: every one). */
export function subscribedEvents(config: Config): string[] {
  if (!config.webhooks.url) return [];
  const listed = config.webhooks.events.split(',').map((e) => e.trim()).filter(Boolean);
  return listed.includes('*') ? [...WEBHOOK_EVENTS] : listed;
}

/** The recorder services write events with, and the dispatcher that delivers them (none without `webhooks.url`). */
export function createWebhooks(config: Config, db: Db, log?: Logger, count?: (outcome: DeliveryOutcome, events: number) => void) {
  const events = subscribedEvents(config);
  if (events.length === 0) return { recorder: NO_WEBHOOKS, dispatcher: undefined };
  const w = config.webhooks;
  const dispatcher = new WebhookDispatcher(db, {
    url: w.url, secret: w.secret, intervalMs: w.interval_ms, batchSize: w.batch_size, timeoutMs: w.timeout_ms,
    maxAttempts: w.max_attempts, maxBackoffMs: w.max_backoff_ms, claimMs: w.claim_ms, deadRetentionMs: w.dead_retention_days * 86_400_000,
  }, log, count);
  return { recorder: new WebhookRecorder(events), dispatcher };
}
