import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What a node did to recover from a cluster fault (see docs/architecture.md#faults). */
export type RecoveryKind = 'sync-asked' | 'sockets-repaired' | 'directory-rebuilt' | 'node-gone';

export interface Metrics {
  registry: Registry;
  /** Times every HTTP request by method, matched route and status. */
  httpTimer: RequestHandler;
  /** Records one message-writer batch: its size and its transaction's duration (retries included). */
  observeMessageBatch(size: number, seconds: number): void;
  /** Records one repair of a socket's streams from the database: whether it read, and the frames it handed over. */
  observeStreamRepair(ok: boolean, frames: number): void;
  /** Counts one recovery step of this node after a cluster fault. */
  countRecovery(kind: RecoveryKind): void;
  /** Counts one socket signed in here (Cmd 3 accepted): reconnects after a drain show as its rate. */
  countSignIn(): void;
  /** Records one before-send hook call: its outcome and how long the send waited for it. */
  observeBeforeSend(outcome: string, seconds: number): void;
  /** Counts webhook events delivered, failed or dead. */
  countWebhookDelivery(outcome: string, events: number): void;
  /** Counts one offline notification by provider and outcome. */
  countOfflinePush(platform: string, outcome: string): void;
}

/** A registry of its own (tests run several apps in one process); process metrics when asked. */
export function createMetrics(options: { processMetrics: boolean }): Metrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'weim_' });
  const duration = new Histogram({
    name: 'weim_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const httpTimer: RequestHandler = (req, res, next) => {
    const end = duration.startTimer({ method: req.method });
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ route, status: String(res.statusCode) });
    });
    next();
  };
  const batchSize = new Histogram({
    name: 'weim_message_batch_size',
    help: 'Messages per message-writer batch (one transaction)',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [registry],
  });
  const batchDuration = new Histogram({
    name: 'weim_message_batch_duration_seconds',
    help: 'Duration of a message-writer batch transaction, retries included',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const observeMessageBatch = (size: number, seconds: number) => {
    batchSize.observe(size);
    batchDuration.observe(seconds);
  };
  const repairs = new Counter({
    name: 'weim_stream_repairs_total',
    help: 'Repairs of a socket\'s streams from the database (a gap past gateway.reorder_wait_ms, or after a node died), by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const repairFrames = new Counter({
    name: 'weim_stream_repair_frames_total',
    help: 'Frames repairs read from the database and handed to sockets (those a socket had already are dropped there)',
    registers: [registry],
  });
  const recoveries = new Counter({
    name: 'weim_cluster_recoveries_total',
    help: 'Recovery steps after cluster faults: sockets asked to sync (Cmd 24), sockets repaired, directory entries rebuilt, another node gone',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const observeStreamRepair = (ok: boolean, frames: number) => {
    repairs.inc({ outcome: ok ? 'ok' : 'failed' });
    if (frames > 0) repairFrames.inc(frames);
  };
  const countRecovery = (kind: RecoveryKind) => recoveries.inc({ kind });
  const signIns = new Counter({
    name: 'weim_ws_sign_ins_total',
    help: 'Sockets signed in on this node (Cmd 3 accepted); its rate shows the reconnects another node\'s drain sends here',
    registers: [registry],
  });
  const countSignIn = () => signIns.inc();
  const beforeSend = new Histogram({
    name: 'weim_before_send_seconds',
    help: 'Before-send hook calls by outcome (allowed, rejected, rewritten, failed_allowed, failed_rejected) and how long each took',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const observeBeforeSend = (outcome: string, seconds: number) => beforeSend.observe({ outcome }, seconds);
  const webhookDeliveries = new Counter({
    name: 'weim_webhook_events_total',
    help: 'Webhook events delivered; failed deliveries (one for each key whose oldest event took the blame, retried); events dead (past webhooks.max_attempts)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const countWebhookDelivery = (outcome: string, events: number) => webhookDeliveries.inc({ outcome }, events);
  const offlinePushes = new Counter({
    name: 'weim_offline_push_total',
    help: 'Notifications to devices of users with no socket, by provider (fcm, apns, webhook) and outcome (sent, invalid_token, failed)',
    labelNames: ['platform', 'outcome'] as const,
    registers: [registry],
  });
  const countOfflinePush = (platform: string, outcome: string) => offlinePushes.inc({ platform, outcome });
  return { registry, httpTimer, observeMessageBatch, observeStreamRepair, countRecovery, countSignIn, observeBeforeSend, countWebhookDelivery, countOfflinePush };
}

/** A gauge read from live state each time /metrics is scraped. */
export function watchGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
