import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { checkProduction, checkQiniu, checkServices, ConfigError, DEV_ID_CARD_SECRET, DEV_JWT_SECRET, type Problem } from './config-checks.js';


const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
/** A list from the environment arrives as a JSON string: parsed (left as it is when it is not JSON, for zod to refuse). */
function jsonFromEnv(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** A boolean from YAML (true/false) or an environment string ("true"/"false"; z.coerce would read "false" as true). */
const bool = () => z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const MB = 1024 * 1024;

const configSchema = z
  .object({
    /** Directory of the embedded database and local attachments. */
    data_dir: z.string().min(1).default('./data'),
    server: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: int(0, 65535).default(8080),
        body_limit_bytes: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
        trust_proxy_hops: int(0, 10).default(0),
        shutdown_timeout_ms: int(0, 600_000).default(10_000),
        /** On SIGTERM, how long /readyz says 503 before sockets are told to move (load balancers look meanwhile). */
        drain_delay_ms: int(0, 600_000).default(2000),
        /** Then sockets are told to move (Cmd 26) and closed at no more than this many a second. */
        drain_closes_per_second: int(1, 1_000_000).default(1000),
        /** Worker processes on this machine sharing the port, each a cluster node (1: this process serves). */
        workers: int(1, 64).default(1),
        /** Bearer token `/metrics` asks for; empty leaves it open (development only: production needs one). */
        metrics_token: z.string().default(''),
      })
      .strict()
      .prefault({}),
    db: z
      .object({
        dialect: z.enum(['sqlite', 'mysql']).default('sqlite'),
        url: z.string().default(''),
        pool_size: int(1, 500).default(10),
        /** SQLite file databases: reader threads for search and nearby queries (each its own connection). */
        sqlite_readers: int(1, 16).default(2),
        migrate_on_start: z.enum(['auto', 'true', 'false']).default('auto'),
        /** Start-up waits this long for a database that refuses connections (still starting), then fails naming it. */
        connect_timeout_ms: int(500, 300_000).default(10_000),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        jwt_secret: z.string().min(1).default(DEV_JWT_SECRET),
        token_ttl_seconds: int(60).default(7 * 24 * 3600),
        bcrypt_cost: int(4, 15).default(10),
        login_max_per_user: int(1).default(10),
        login_max_per_ip: int(1).default(50),
        login_window_seconds: int(1).default(900),
        register_max_per_ip: int(1).default(20),
      })
      .strict()
      .prefault({}),
    groups: z
      .object({
        max_members: int(2, 1_000_000).default(10_000),
        /** Most admins a group may have (`/im/group/admin/set`). */
        max_admins: int(0, 1000).default(10),
        members_page_size: int(1, 500).default(50),
        create_max_per_hour: int(1).default(20),
        history_from_join: z.enum(['true', 'false']).default('true'),
      })
      .strict()
      .prefault({}),
    gateway: z
      .object({
        sign_in_timeout_ms: int(100, 600_000).default(15_000),
        ping_interval_ms: int(100, 600_000).default(25_000),
        max_frame_bytes: int(1024, 16 * 1024 * 1024).default(64 * 1024),
        max_buffered_bytes: int(16 * 1024, 1024 * 1024 * 1024).default(1024 * 1024),
        allowed_origins: z.string().default(''),
        max_bad_frames: int(1, 10_000).default(20),
        /** How long a frame that came before the seqs it follows waits for them before they are read from the database. */
        reorder_wait_ms: int(10, 10_000).default(200),
        /** Open sockets one client address (an IPv6 /64) may hold, across the cluster; 0: no cap. */
        max_sockets_per_ip: int(0, 1_000_000).default(500),
        /** Signed-in sockets one user may hold, across the cluster; 0: no cap. */
        max_sockets_per_user: int(0, 10_000).default(20),
        /** Cmd 15 (ping) frames one socket may send per minute (a burst of as many, then evenly). */
        ping_max_per_minute: int(1, 100_000).default(60),
        /** Cmd 22 (sync) frames one socket may send per minute (a burst of as many, then evenly). */
        sync_max_per_minute: int(1, 100_000).default(30),
        /** Cmd 27 (typing) frames one socket may send per minute (a burst of as many, then evenly). */
        typing_max_per_minute: int(1, 100_000).default(30),
      })
      .strict()
      .prefault({}),
    messages: z
      .object({
        max_body_chars: int(1, 1_000_000).default(5000),
        withdraw_window_seconds: int(0, 86_400 * 365).default(120),
        /** How long after sending a text message its sender may edit it. */
        edit_window_seconds: int(0, 86_400 * 365).default(86_400),
        /** Most kinds of reactions (distinct emoji) one message may carry. */
        reaction_kinds_max: int(1, 1000).default(20),
        send_max_per_10s: int(1).default(100),
        read_notices: z.enum(['true', 'false']).default('true'),
        sync_page_size: int(10, 10_000).default(1000),
        /** Typing notices (Cmd 28) are relayed in groups of at most this many members, dropped in larger ones. */
        typing_group_max_members: int(0, 100_000).default(200),
        /** `/im/chat/receipts` lists who read a message in conversations of at most this many members (above: counts only). */
        receipt_list_max: int(0, 10_000).default(200),
        /** MySQL: store messages on a thread of its own, with its own connections ("false": on the event loop). */
        writer_thread: z.enum(['true', 'false']).default('true'),
        /** How long a batch of messages waits for more when they come within this long of each other (group commit); 0: never. */
        batch_delay_ms: int(0, 100).default(5),
        /**
         * Origins (`scheme://host[:port]`, comma-separated) whose URLs picture, voice, video and file
         * messages may carry besides weim's own uploads. Empty: only uploads made with /im/chat/upload.
         */
        media_origins: z.string().default(''),
      })
      .strict()
      .prefault({}),
    presence: z
      .object({ coalesce_ms: int(0, 60_000).default(1000), max_fanout: int(1, 100_000).default(5000) })
      .strict()
      .prefault({}),
    cluster: z
      .object({
        node_id: z.string().regex(/^[A-Za-z0-9_.:-]{0,64}$/, 'letters, digits and _.:- only').default(''),
        /** `single`: one node (memory directory and bus); `cluster`: Redis directory and bus, etcd discovery. */
        mode: z.enum(['single', 'cluster']).default('single'),
        /** cluster only: the Redis holding the connection directory and carrying frames between nodes. */
        redis_url: z.string().default(''),
        /** cluster only: etcd client URLs, comma-separated. */
        etcd_hosts: z.string().default(''),
        /** cluster only: a node that stops renewing its etcd lease is dropped after this many seconds. */
        lease_seconds: int(2, 300).default(5),
        /** cluster only: prefix of this cluster's Redis keys and etcd keys (several clusters may share them). */
        key_prefix: z.string().regex(/^[A-Za-z0-9_.:/-]{1,64}$/, 'letters, digits and _.:/- only').default('weim'),
        /** cluster only: start-up fails, naming the service, when Redis or etcd has not answered within this long. */
        connect_timeout_ms: int(500, 120_000).default(8000),
        /** cluster only: how often a node checks that its directory entries are still in Redis (rebuilt when not). */
        directory_check_ms: int(100, 60_000).default(1000),
      })
      .strict()
      .prefault({}),
    search: z
      .object({
        /** Where user and group search runs: `sql` (the database itself) or `elastic`. */
        backend: z.enum(['sql', 'elastic']).default('sql'),
        /** Results per page of /im/friend/search and /im/group/search. */
        page_size: int(1, 100).default(20),
        /** elastic only: the cluster URL, e.g. http://127.0.0.1:9200. */
        elastic_url: z.string().default(''),
        /** elastic only: index names are <prefix>_users and <prefix>_groups. */
        elastic_index_prefix: z.string().regex(/^[a-z0-9_-]+$/).default('weim'),
        /** elastic only: how often the outbox worker looks for index updates to deliver. */
        outbox_interval_ms: int(10, 600_000).default(500),
        /** elastic only: longest wait between retries of an undeliverable update. */
        outbox_max_backoff_ms: int(100, 3_600_000).default(60_000),
      })
      .strict()
      .prefault({}),
    geo: z
      .object({
        /** Only locations reported within this many days are shown by /geo/users. */
        window_days: int(1, 365).default(7),
        /** Results per page of /geo/users. */
        page_size: int(1, 100).default(20),
        /** Location updates one user may make per minute. */
        update_max_per_minute: int(1).default(6),
      })
      .strict()
      .prefault({}),
    realname: z
      .object({ id_card_secret: z.string().min(1).default(DEV_ID_CARD_SECRET) })
      .strict()
      .prefault({}),
    uploads: z
      .object({
        /** Where attachments live: `local` (files under data_dir, served by weim) or `qiniu`. */
        store: z.enum(['local', 'qiniu']).default('local'),
        /** URL path prefix under which the local store serves files. */
        public_path: z
          .string()
          .regex(/^(\/[a-z0-9_-]+)+$/, 'must look like /files')
          .default('/files'),
        /** Caps per message type, enforced while the upload streams in. */
        picture_max_bytes: int(1024, 1024 * MB).default(10 * MB),
        voice_max_bytes: int(1024, 1024 * MB).default(10 * MB),
        video_max_bytes: int(1024, 1024 * MB).default(100 * MB),
        file_max_bytes: int(1024, 1024 * MB).default(20 * MB),
        avatar_max_bytes: int(1024, 100 * MB).default(2 * MB),
        /** The avatar URL new users get ('' = none; clients show their own placeholder). */
        default_avatar: z.string().max(512).default(''),
        /** Uploads (chat files and avatars) one user may make per window. */
        max_per_user: int(1).default(60),
        window_seconds: int(1).default(60),
      })
      .strict()
      .prefault({}),
    qiniu: z
      .object({
        access_key: z.string().default(''),
        secret_key: z.string().default(''),
        bucket: z.string().default(''),
        /** Download domain bound to the bucket, with scheme, e.g. https://cdn.example.com. */
        domain: z.string().default(''),
        /** Private bucket: download URLs are signed and expire after url_ttl_seconds. */
        private: bool().default(false),
        url_ttl_seconds: int(60).default(3600),
        /** Upload host override (e.g. https://up-z2.qiniup.com); '' = ask Qiniu for the bucket's region. */
        upload_url: z.string().default(''),
      })
      .strict()
      .prefault({}),
    push: z
      .object({
        /**
         * Business backends that may call the server push API, as `key:secret` pairs separated by
         * commas (keys of letters, digits, `_` and `-`; secrets of 32+ characters). Empty: no push API.
         */
        apps: z.string().default(''),
        /** How far a request's X-Weim-Timestamp may be from this server's clock. */
        max_skew_seconds: int(10, 3600).default(300),
        /** Users one /push/users or /push/online request may name. */
        max_users: int(1, 10_000).default(1000),
        /** Characters a pushed Body may have. */
        max_body_chars: int(1, 4000).default(4000),
        /** Requests one app may make per second. */
        max_per_second: int(1).default(100),
        /** How long an Idempotency-Key (and the answer it got) is kept from its first use. */
        idempotency_ttl_seconds: int(60, 7 * 86_400).default(86_400),
      })
      .strict()
      .prefault({}),
    filter: z
      .object({
        /** A word list (one word per line, `#` comments), matched in text messages, nicknames, group names and notices; '' = no filter. Read again when it changes. */
        words_file: z.string().default(''),
        /** `reject`: refuse the text (400 / 1007); `mask`: replace each word by `***`. */
        mode: z.enum(['reject', 'mask']).default('reject'),
      })
      .strict()
      .prefault({}),
    i18n: z
      .object({
        /** The language of error messages for a request or socket that names neither zh nor en (weIm-go clients expect Chinese). */
        default_locale: z.enum(['zh', 'en']).default('zh'),
      })
      .strict()
      .prefault({}),
    hooks: z
      .object({
        /** Called with every message before it is stored (allow, reject or rewrite it); '' = no hook. */
        before_send_url: z.string().default(''),
        /** How long a send waits for the hook's answer. */
        before_send_timeout_ms: int(10, 10_000).default(300),
        /** No answer in time, or a bad one: `allow` stores the message, `reject` refuses it (503 / 1503, retry). */
        before_send_on_failure: z.enum(['allow', 'reject']).default('allow'),
        /** The HMAC-SHA256 key hook calls are signed with (X-Weim-Signature); 32+ characters, required with a hook URL. */
        secret: z.string().default(''),
      })
      .strict()
      .prefault({}),
    offline_push: z
      .object({
        /** A generic pusher: your own service gets {token, title, body, badge, data}, signed with webhook_secret; '' = none. */
        webhook_url: z.string().default(''),
        webhook_secret: z.string().default(''),
        /** FCM HTTP v1: the Firebase service-account JSON file; '' = no FCM. */
        fcm_service_account_file: z.string().default(''),
        fcm_endpoint: z.string().default('https://fcm.googleapis.com'),
        /** APNs: the .p8 token key file, its key id, the team id and the app's bundle id; '' = no APNs. */
        apns_key_file: z.string().default(''),
        apns_key_id: z.string().default(''),
        apns_team_id: z.string().default(''),
        apns_topic: z.string().default(''),
        apns_host: z.string().default('https://api.push.apple.com'),
        timeout_ms: int(100, 60_000).default(5000),
        /** Tries at one device before giving up (a token the provider says is gone is not retried). */
        attempts: int(1, 10).default(3),
        /** Groups above this size notify only the members a message mentions. */
        group_max_members: int(0, 1_000_000).default(200),
        /** Characters of a text a notification shows. */
        preview_chars: int(0, 1000).default(100),
      })
      .strict()
      .prefault({}),
    admin: z
      .object({
        /** The bearer token of the admin API (/api/v1/admin/*), 32+ characters; '' = no admin API (404). */
        token: z.string().default(''),
      })
      .strict()
      .prefault({}),
    webhooks: z
      .object({
        /** Where events are POSTed (signed, in batches, at least once, in order per conversation); '' = no webhooks. */
        url: z.string().default(''),
        /** The HMAC-SHA256 key of X-Weim-Signature; 32+ characters, required with a URL. */
        secret: z.string().default(''),
        /** Event types to send, comma-separated, or `*` for all of them. */
        events: z.string().default('*'),
        /**
         * More receivers, each with its own events, secret, order and retries: one that is down
         * holds back no other. `name` tells its rows apart (a-z, 0-9, `-`, `_`). From the
         * environment (WEIM_WEBHOOKS_ENDPOINTS) as a JSON array.
         */
        endpoints: z.preprocess(
          jsonFromEnv,
          z
            .array(z.object({ name: z.string().regex(/^[a-z0-9_-]{1,40}$/, 'must be 1–40 of a-z, 0-9, - and _'), url: z.string(), secret: z.string(), events: z.string().default('*') }).strict())
            .max(20)
            .default([]),
        ),
        /** How often each node looks for events to send. */
        interval_ms: int(10, 60_000).default(200),
        /** Most events in one POST. */
        batch_size: int(1, 1000).default(100),
        /** How long a POST may take before it counts as failed. */
        timeout_ms: int(100, 60_000).default(5000),
        /** Failed deliveries before an event is dead (kept in the outbox, counted, not retried). */
        max_attempts: int(1, 1000).default(30),
        /** The longest wait between two attempts (exponential from interval_ms). */
        max_backoff_ms: int(100, 3_600_000).default(60_000),
        /** A node that dies while delivering frees its events after this long. */
        claim_ms: int(1000, 3_600_000).default(30_000),
        /** Dead events are kept this many days (for a look at what failed), then deleted (checked hourly). */
        dead_retention_days: int(0, 3650).default(7),
      })
      .strict()
      .prefault({}),
    apps: z
      .object({
        /**
         * The realtime gateway's tenants (docs/gateway.md): `{key, name, secret, enabled}` each
         * (key: 1–64 of a-z A-Z 0-9 _ -; secret: 32+ characters), written to the `apps` table at
         * start. From the environment (WEIM_APPS_LIST) as a JSON array. Empty: no gateway apps.
         */
        list: z.preprocess(
          jsonFromEnv,
          z
            .array(z.object({ key: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 of a-z, A-Z, 0-9, - and _'), name: z.string().min(1).max(100), secret: z.string().min(32, 'must be at least 32 characters'), enabled: bool().default(true), api: z.enum(['woodylan', 'goravel-socket']).default('woodylan') }).strict())
            .max(1000)
            .default([]),
        ),
        /**
         * Networks (comma-separated CIDRs) whose calls to the woodylan-style routes need no
         * signature: the app backends of a private network, as woodylan trusted everyone. Empty: every call signed.
         */
        trusted_networks: z.string().default(''),
        /** Bytes one pushed message's `data` may take, JSON-encoded. */
        max_message_bytes: int(16, 1024 * 1024).default(64 * 1024),
        /** How long an operation on a connection held by another node waits for that node's answer (then 503 `app_node_unreachable`, or "no such client" once the node is gone). */
        node_call_timeout_ms: int(100, 60_000).default(5000),
      })
      .strict()
      .prefault({}),
    web: z
      .object({
        /** Serve the web chat app (web/, bundled by esbuild on first request) at `/`. */
        enabled: bool().default(true),
      })
      .strict()
      .prefault({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema> & { readonly production: boolean };

export { ConfigError, DEV_ID_CARD_SECRET, DEV_JWT_SECRET, mediaOrigins, pushApps } from './config-checks.js';

type Env = Record<string, string | undefined>;

/** Overlays PORT, WEIM_DATA_DIR and WEIM_<SECTION>_<KEY> onto the file's values. */
function applyEnv(raw: Record<string, unknown>, env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  if (env.WEIM_DATA_DIR) out.data_dir = env.WEIM_DATA_DIR;
  const sections = Object.keys(configSchema.shape).filter((k) => k !== 'data_dir');
  for (const section of sections) {
    const shape = (configSchema.shape as Record<string, unknown>)[section];
    const inner = unwrapObject(shape);
    const current = out[section];
    const merged: Record<string, unknown> =
      current && typeof current === 'object' ? { ...(current as Record<string, unknown>) } : {};
    for (const key of Object.keys(inner)) {
      const value = env[`WEIM_${section.toUpperCase()}_${key.toUpperCase()}`];
      if (value !== undefined) merged[key] = value;
    }
    if (section === 'server' && env.PORT) merged.port = env.PORT;
    if (Object.keys(merged).length > 0 || current !== undefined) out[section] = merged;
  }
  return out;
}

function unwrapObject(schema: unknown): Record<string, unknown> {
  let s = schema as { shape?: Record<string, unknown>; def?: { innerType?: unknown } };
  while (!s.shape && s.def?.innerType) s = s.def.innerType as typeof s;
  return s.shape ?? {};
}

/**
 * Reads the config file (WEIM_CONFIG or ./config.yml; missing = defaults), applies environment
 * overrides and validates everything once. Throws ConfigError naming the offending key.
 */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Readonly<Config> {
  const path = resolve(cwd, env.WEIM_CONFIG ?? 'config.yml');
  let fileValues: unknown = {};
  if (existsSync(path)) {
    try {
      fileValues = parseYaml(readFileSync(path, 'utf8')) ?? {};
    } catch (err) {
      throw new ConfigError(`config: cannot parse ${path}: ${(err as Error).message}`);
    }
  } else if (env.WEIM_CONFIG) {
    throw new ConfigError(`config: WEIM_CONFIG names ${path}, which does not exist`);
  }
  if (typeof fileValues !== 'object' || Array.isArray(fileValues)) {
    throw new ConfigError(`config: ${path} must hold a mapping of sections`);
  }
  const raw = applyEnv(fileValues as Record<string, unknown>, env);
  const problems = schemaProblems(raw);
  // The keys that passed are checked together too, so that one run names every problem.
  const result = configSchema.safeParse(withoutKeys(raw, problems.map((p) => p.path)));
  if (result.success) {
    const production = env.NODE_ENV === 'production';
    const config: Config = { ...result.data, production, data_dir: resolve(cwd, result.data.data_dir) };
    for (const check of [checkProduction, checkQiniu, checkServices]) problems.push(...check(config));
    if (problems.length === 0) return Object.freeze(config);
  }
  const lines = problems.map((p) => `config: ${p.key}: ${p.detail}`);
  throw new ConfigError(lines.length === 1 ? lines[0]! : `${lines.length} problems in the configuration:\n${lines.join('\n')}`);
}

/** Every value the schema refuses, each unknown key included. */
function schemaProblems(raw: Record<string, unknown>): Problem[] {
  const result = configSchema.safeParse(raw);
  if (result.success) return [];
  const problems: Problem[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) problems.push({ key: [...issue.path, k].join('.'), detail: 'unknown key', path: [...issue.path, k] });
    } else {
      problems.push({ key: issue.path.join('.') || '(root)', detail: issue.message, path: issue.path });
    }
  }
  return problems;
}

/** `raw` with the values at `paths` left out (their defaults apply), copying what it changes. */
function withoutKeys(raw: Record<string, unknown>, paths: PropertyKey[][]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const path of paths) {
    if (path.length === 0) continue;
    let node = out;
    for (const segment of path.slice(0, -1)) {
      const next = node[segment as string];
      if (!next || typeof next !== 'object' || Array.isArray(next)) break;
      node[segment as string] = { ...(next as Record<string, unknown>) };
      node = node[segment as string] as Record<string, unknown>;
    }
    delete node[path[path.length - 1] as string];
  }
  return out;
}

/** Whether pending migrations run at start. */
export function migratesOnStart(config: Pick<Config, 'db'>): boolean {
  if (config.db.migrate_on_start === 'auto') return config.db.dialect === 'sqlite';
  return config.db.migrate_on_start === 'true';
}
