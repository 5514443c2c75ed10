import { existsSync, readFileSync } from 'node:fs';
import type { Config } from './config.js';
import { trustedNetworks } from './modules/apps/app-calls.js';
import { WEBHOOK_EVENTS } from './modules/webhooks/recorder.js';

/** Secrets shipped in config.yml for development; production refuses to start with them. */
export const DEV_JWT_SECRET = 'weim-dev-secret-change-me';
export const DEV_ID_CARD_SECRET = 'weim-dev-id-card-secret-change-me';

/** Thrown for any configuration problem; the message names the key (and `problem` holds it, when one key is at fault). */
export class ConfigError extends Error {
  constructor(message: string, readonly problem?: { key: string; detail: string }) {
    super(message);
  }

  /** The error of one key: `config: <key>: <detail>`. */
  static at(key: string, detail: string): ConfigError {
    return new ConfigError(`config: ${key}: ${detail}`, { key, detail });
  }
}

/**
 * The checks of config keys that only make sense together (production secrets, Qiniu, the
 * cluster's services, push apps, media origins), each returning every problem it finds so that
 * loadConfig names them all in one message.
 */

/** One bad key: its dotted name, what is wrong, and where it sits in the raw values. */
export interface Problem {
  key: string;
  detail: string;
  path: PropertyKey[];
}

export const problem = (key: string, detail: string): Problem => ({ key, detail, path: [] });

/** Keys that only make sense together: the search backend, the cluster's services, MySQL's URL, push apps. */
export function checkServices(config: Config): Problem[] {
  const problems: Problem[] = [...problemOf(() => pushApps(config)), ...problemOf(() => mediaOrigins(config))];
  if (config.search.backend === 'elastic' && !config.search.elastic_url) {
    problems.push(problem('search.elastic_url', 'required when search.backend is elastic (WEIM_SEARCH_ELASTIC_URL)'));
  }
  if (config.cluster.mode === 'cluster') {
    for (const key of ['redis_url', 'etcd_hosts'] as const) {
      if (!config.cluster[key]) problems.push(problem(`cluster.${key}`, `required when cluster.mode is cluster (WEIM_CLUSTER_${key.toUpperCase()})`));
    }
    if (config.db.dialect !== 'mysql') problems.push(problem('db.dialect', 'cluster.mode cluster needs a database all nodes share (mysql)'));
  }
  if (config.server.workers > 1 && config.cluster.mode !== 'cluster') {
    problems.push(problem('server.workers', 'more than 1 needs cluster.mode cluster: each worker is a node of the cluster on the same MySQL, Redis and etcd (the embedded SQLite database serves one process)'));
  }
  if (config.hooks.before_send_url) {
    if (!/^https?:\/\/[^\s]+$/.test(config.hooks.before_send_url)) problems.push(problem('hooks.before_send_url', 'must be an http(s) URL (WEIM_HOOKS_BEFORE_SEND_URL)'));
    if (config.hooks.secret.length < 32) problems.push(problem('hooks.secret', 'a before-send hook needs a signing secret of 32+ characters (WEIM_HOOKS_SECRET)'));
  }
  const push = config.offline_push;
  if (push.webhook_url && push.webhook_secret.length < 32) problems.push(problem('offline_push.webhook_secret', 'a push webhook needs a signing secret of 32+ characters (WEIM_OFFLINE_PUSH_WEBHOOK_SECRET)'));
  if (push.fcm_service_account_file) {
    try {
      const account = JSON.parse(readFileSync(push.fcm_service_account_file, 'utf8')) as Record<string, unknown>;
      const missing = ['project_id', 'client_email', 'private_key', 'token_uri'].filter((k) => typeof account[k] !== 'string');
      if (missing.length > 0) problems.push(problem('offline_push.fcm_service_account_file', `not a service-account file: no ${missing.join(', ')}`));
    } catch (err) {
      problems.push(problem('offline_push.fcm_service_account_file', `cannot be read: ${(err as Error).message}`));
    }
  }
  if (push.apns_key_file) {
    if (!existsSync(push.apns_key_file)) problems.push(problem('offline_push.apns_key_file', `no such file: ${push.apns_key_file}`));
    for (const key of ['apns_key_id', 'apns_team_id', 'apns_topic'] as const) if (!push[key]) problems.push(problem(`offline_push.${key}`, 'required with offline_push.apns_key_file'));
  }
  if (config.admin.token && config.admin.token.length < 32) problems.push(problem('admin.token', 'the admin API needs a token of 32+ characters (WEIM_ADMIN_TOKEN)'));
  const endpoints = [
    ...(config.webhooks.url ? [{ at: 'webhooks', name: 'default', url: config.webhooks.url, secret: config.webhooks.secret, events: config.webhooks.events, env: true }] : []),
    ...config.webhooks.endpoints.map((e, i) => ({ ...e, at: `webhooks.endpoints.${i}`, env: false })),
  ];
  const seen = new Set<string>();
  for (const e of endpoints) {
    if (seen.has(e.name)) problems.push(problem(`${e.at}.name`, `${e.name} is used twice${e.name === 'default' ? ' (default is webhooks.url)' : ''}`));
    seen.add(e.name);
    if (!/^https?:\/\/[^\s]+$/.test(e.url)) problems.push(problem(`${e.at}.url`, e.env ? 'must be an http(s) URL (WEIM_WEBHOOKS_URL)' : 'must be an http(s) URL'));
    if (e.secret.length < 32) problems.push(problem(`${e.at}.secret`, e.env ? 'webhooks need a signing secret of 32+ characters (WEIM_WEBHOOKS_SECRET)' : 'webhooks need a signing secret of 32+ characters'));
    const unknown = e.events.split(',').map((x) => x.trim()).filter((x) => x && x !== '*' && !(WEBHOOK_EVENTS as readonly string[]).includes(x));
    if (unknown.length > 0) problems.push(problem(`${e.at}.events`, `unknown event types: ${unknown.join(', ')} (known: ${WEBHOOK_EVENTS.join(', ')})`));
  }
  if (endpoints.length > 0) {
    if (config.webhooks.claim_ms <= config.webhooks.timeout_ms) problems.push(problem('webhooks.claim_ms', `must be longer than webhooks.timeout_ms (${config.webhooks.timeout_ms}): a claim that lapses during a POST lets another node send the same events at once`));
  }
  try {
    trustedNetworks(config.apps.trusted_networks);
  } catch (err) {
    problems.push(problem('apps.trusted_networks', `must be comma-separated CIDRs such as 10.0.0.0/8 (WEIM_APPS_TRUSTED_NETWORKS): ${(err as Error).message}`));
  }
  if (config.filter.words_file && !existsSync(config.filter.words_file)) {
    problems.push(problem('filter.words_file', `no such file: ${config.filter.words_file} (WEIM_FILTER_WORDS_FILE)`));
  }
  if (config.db.dialect === 'mysql' && !config.db.url) {
    problems.push(problem('db.url', 'required when db.dialect is mysql (WEIM_DB_URL)'));
  }
  return problems;
}

/** The problem a parse of one key (pushApps, mediaOrigins) throws, as a list of none or one. */
function problemOf(parse: () => unknown): Problem[] {
  try {
    parse();
    return [];
  } catch (err) {
    if (err instanceof ConfigError && err.problem) return [problem(err.problem.key, err.problem.detail)];
    throw err;
  }
}

export function checkProduction(config: Config): Problem[] {
  if (!config.production) return [];
  const problems: Problem[] = [];
  if (config.auth.jwt_secret === DEV_JWT_SECRET || config.auth.jwt_secret.length < 32) {
    problems.push(problem('auth.jwt_secret', 'production (NODE_ENV=production) needs a secret of 32+ characters that is not the default (WEIM_AUTH_JWT_SECRET)'));
  }
  if (config.realname.id_card_secret === DEV_ID_CARD_SECRET || config.realname.id_card_secret.length < 32) {
    problems.push(problem('realname.id_card_secret', 'production needs a secret of 32+ characters that is not the default (WEIM_REALNAME_ID_CARD_SECRET)'));
  }
  if (config.server.metrics_token.length < 16) {
    problems.push(problem('server.metrics_token', 'production needs a token of 16+ characters for /metrics (WEIM_SERVER_METRICS_TOKEN)'));
  }
  return problems;
}

/** store=qiniu cannot work without credentials, a bucket and its download domain. */
export function checkQiniu(config: Config): Problem[] {
  if (config.uploads.store !== 'qiniu') return [];
  const problems: Problem[] = [];
  for (const key of ['access_key', 'secret_key', 'bucket', 'domain'] as const) {
    if (!config.qiniu[key]) problems.push(problem(`qiniu.${key}`, `required when uploads.store is qiniu (WEIM_QINIU_${key.toUpperCase()})`));
  }
  for (const key of ['domain', 'upload_url'] as const) {
    const value = config.qiniu[key];
    if (value && !/^https?:\/\/[^/?#]+$/.test(value)) problems.push(problem(`qiniu.${key}`, 'must be scheme://host[:port] with no path'));
  }
  return problems;
}

/**
 * The push API's apps, key → secret, from `push.apps`. A secret shorter than 32 characters is
 * refused in any mode: there is no development default to fall back on.
 */
export function pushApps(config: Pick<Config, 'push'>): Map<string, string> {
  const apps = new Map<string, string>();
  for (const entry of config.push.apps.split(',').map((e) => e.trim()).filter(Boolean)) {
    const at = entry.indexOf(':');
    const key = entry.slice(0, Math.max(0, at));
    const secret = entry.slice(at + 1);
    if (at < 1 || !/^[A-Za-z0-9_-]{1,64}$/.test(key)) throw ConfigError.at('push.apps', 'each entry must be key:secret, the key of letters, digits, _ and - (WEIM_PUSH_APPS)');
    if (secret.length < 32) throw ConfigError.at('push.apps', `the secret of ${key} must have 32+ characters`);
    if (apps.has(key)) throw ConfigError.at('push.apps', `${key} is listed twice`);
    apps.set(key, secret);
  }
  return apps;
}

/**
 * The external origins media messages may link to, from `messages.media_origins`: each entry exactly
 * as the URL standard writes an origin (http or https, lower-case host, no default port, no path),
 * so that a body's origin is compared as a string. The Qiniu domain is refused: URLs there are
 * uploads, checked against `uploads` like local ones, never waved through.
 */
export function mediaOrigins(config: Pick<Config, 'messages' | 'uploads' | 'qiniu'>): Set<string> {
  const origins = new Set<string>();
  for (const entry of config.messages.media_origins.split(',').map((e) => e.trim()).filter(Boolean)) {
    let origin: string | undefined;
    try {
      const url = new URL(entry);
      if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
    } catch {
      origin = undefined;
    }
    if (origin !== entry) {
      const hint = origin ? ` (write it ${origin})` : '';
      throw ConfigError.at('messages.media_origins', `${JSON.stringify(entry)} must be an http(s) origin scheme://host[:port], lower case, no path${hint} (WEIM_MESSAGES_MEDIA_ORIGINS)`);
    }
    if (config.uploads.store === 'qiniu' && origin === originOf(config.qiniu.domain)) {
      throw ConfigError.at('messages.media_origins', 'must not list qiniu.domain (URLs there must name an upload, and are checked)');
    }
    origins.add(origin);
  }
  return origins;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
