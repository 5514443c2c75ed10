import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import { type DeliveryOutcome, WebhookDispatcher } from './dispatcher.js';
import { WEBHOOK_EVENTS, WebhookRecorder, NO_WEBHOOKS, type WebhookSubscription } from './recorder.js';

export type { WebhookOutboxTable } from './webhooks.table.js';
export { WebhookDispatcher, type DeliveredEvent } from './dispatcher.js';
export { NO_WEBHOOKS, orderKey, recordSentMessages, WEBHOOK_EVENTS, type WebhookEvent, WebhookRecorder, type WebhookSubscription } from './recorder.js';

/** A receiver as configured: `webhooks.url` (named `default`) and each of `webhooks.endpoints`. */
interface Endpoint {
  name: string;
  url: string;
  secret: string;
  events: string[];
}

/** Every configured receiver with the events it names (`*`: every one). */
export function webhookEndpoints(config: Config): Endpoint[] {
  const w = config.webhooks;
  const all = [...(w.url ? [{ name: 'default', url: w.url, secret: w.secret, events: w.events }] : []), ...w.endpoints];
  return all.map((e) => {
    const listed = e.events.split(',').map((x) => x.trim()).filter(Boolean);
    return { name: e.name, url: e.url, secret: e.secret, events: listed.includes('*') ? [...WEBHOOK_EVENTS] : listed };
  });
}

/** The recorder services write events with, and one dispatcher per receiver (none without receivers). */
export function createWebhooks(config: Config, db: Db, log?: Logger, count?: (outcome: DeliveryOutcome, events: number) => void) {
  const endpoints = webhookEndpoints(config).filter((e) => e.events.length > 0);
  if (endpoints.length === 0) return { recorder: NO_WEBHOOKS, dispatchers: [] };
  const w = config.webhooks;
  const dispatchers = endpoints.map((e) => new WebhookDispatcher(db, {
    endpoint: e.name, url: e.url, secret: e.secret, intervalMs: w.interval_ms, batchSize: w.batch_size, timeoutMs: w.timeout_ms,
    maxAttempts: w.max_attempts, maxBackoffMs: w.max_backoff_ms, claimMs: w.claim_ms, deadRetentionMs: w.dead_retention_days * 86_400_000,
  }, log, count));
  const subscriptions: WebhookSubscription[] = endpoints.map((e) => ({ endpoint: e.name, events: e.events }));
  return { recorder: new WebhookRecorder(subscriptions), dispatchers };
}
