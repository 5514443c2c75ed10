import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { DevicesService, Platform } from '../devices/index.js';
import { ApnsProvider } from './apns-provider.js';
import { FcmProvider, type ServiceAccount } from './fcm-provider.js';
import { OfflinePush } from './offline-push.js';
import type { PushProvider, SendOutcome } from './provider.js';
import { WebhookPushProvider } from './webhook-provider.js';

export { OfflinePush, type StoredForPush } from './offline-push.js';
export type { PushNote, PushProvider, SendOutcome } from './provider.js';

/** The providers `offline_push.*` configures (none: no offline push at all). */
export function pushProviders(config: Config): Partial<Record<Platform, PushProvider>> {
  const c = config.offline_push;
  const providers: Partial<Record<Platform, PushProvider>> = {};
  if (c.webhook_url) providers.webhook = new WebhookPushProvider({ url: c.webhook_url, secret: c.webhook_secret, timeoutMs: c.timeout_ms });
  if (c.fcm_service_account_file) {
    const account = JSON.parse(readFileSync(c.fcm_service_account_file, 'utf8')) as ServiceAccount;
    providers.fcm = new FcmProvider(account, { endpoint: c.fcm_endpoint, timeoutMs: c.timeout_ms });
  }
  if (c.apns_key_file) {
    providers.apns = new ApnsProvider({ key: readFileSync(c.apns_key_file, 'utf8'), keyId: c.apns_key_id, teamId: c.apns_team_id, topic: c.apns_topic, host: c.apns_host, timeoutMs: c.timeout_ms });
  }
  return providers;
}

export function createOfflinePush(config: Config, db: Db, devices: DevicesService, online: (ids: number[]) => Promise<number[]>, log?: Logger, count?: (platform: string, outcome: SendOutcome) => void): OfflinePush | undefined {
  const providers = pushProviders(config);
  if (Object.keys(providers).length === 0) return undefined;
  const c = config.offline_push;
  return new OfflinePush(db, devices, providers, online, { groupMaxMembers: c.group_max_members, previewChars: c.preview_chars, attempts: c.attempts }, log, count);
}
