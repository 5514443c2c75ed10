import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_JWT_SECRET, loadConfig, mediaOrigins, migratesOnStart, pushApps } from '../src/config.js';

const repoConfig = fileURLToPath(new URL('../config.yml', import.meta.url));
const emptyDir = () => mkdtempSync(join(tmpdir(), 'weim-config-'));

function fileWith(text: string): string {
  const path = join(emptyDir(), 'config.yml');
  writeFileSync(path, text);
  return path;
}

describe('config', () => {
  it('the documented config.yml equals the built-in defaults', () => {
    const cwd = emptyDir();
    const fromFile = loadConfig({ WEIM_CONFIG: repoConfig }, cwd);
    const defaults = loadConfig({}, cwd);
    expect(fromFile).toEqual(defaults);
    expect(defaults.server.port).toBe(8080);
    expect(defaults.db.dialect).toBe('sqlite');
    expect(defaults.data_dir).toBe(resolve(cwd, 'data'));
    expect(defaults.auth.token_ttl_seconds).toBe(7 * 24 * 3600);
    expect(migratesOnStart(defaults)).toBe(true);
  });

  it('environment variables override the file', () => {
    const config = loadConfig({
      WEIM_CONFIG: fileWith('server:\n  port: 9000\ndb:\n  pool_size: 3\n'),
      PORT: '9100',
      WEIM_DATA_DIR: '/tmp/weim-x',
      WEIM_DB_DIALECT: 'mysql',
      WEIM_DB_URL: 'mysql://u:p@127.0.0.1:3306/weim',
      WEIM_AUTH_TOKEN_TTL_SECONDS: '3600',
    });
    expect(config.server.port).toBe(9100);
    expect(config.data_dir).toBe('/tmp/weim-x');
    expect(config.db).toMatchObject({ dialect: 'mysql', pool_size: 3, url: 'mysql://u:p@127.0.0.1:3306/weim' });
    expect(config.auth.token_ttl_seconds).toBe(3600);
    expect(migratesOnStart(config)).toBe(false);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('a bad value stops with a message naming the key', () => {
    const cwd = emptyDir();
    expect(() => loadConfig({ PORT: 'eighty' }, cwd)).toThrow(/server\.port/);
    expect(() => loadConfig({ WEIM_DB_DIALECT: 'postgres' }, cwd)).toThrow(/db\.dialect/);
    expect(() => loadConfig({ WEIM_AUTH_BCRYPT_COST: '40' }, cwd)).toThrow(/auth\.bcrypt_cost/);
    expect(() => loadConfig({ WEIM_CONFIG: fileWith('server:\n  prot: 1\n') })).toThrow(/server.*prot/);
    expect(() => loadConfig({ WEIM_CONFIG: fileWith('sever:\n  port: 1\n') })).toThrow(/sever/);
    expect(() => loadConfig({ WEIM_CONFIG: fileWith('server: [1\n') })).toThrow(ConfigError);
    expect(() => loadConfig({ WEIM_CONFIG: '/nonexistent/weim.yml' })).toThrow(/does not exist/);
    expect(() => loadConfig({ WEIM_DB_DIALECT: 'mysql' }, cwd)).toThrow(/db\.url/);
  });

  it('push.apps: key:secret pairs with 32+ character secrets, each key once', () => {
    const cwd = emptyDir();
    const secret = 'k'.repeat(32);
    expect(pushApps(loadConfig({}, cwd))).toEqual(new Map());
    expect(pushApps(loadConfig({ WEIM_PUSH_APPS: ` shop:${secret} , crm_2:${secret}x ` }, cwd))).toEqual(new Map([['shop', secret], ['crm_2', `${secret}x`]]));
    expect(() => loadConfig({ WEIM_PUSH_APPS: `shop:${'k'.repeat(31)}` }, cwd)).toThrow(/push\.apps: the secret of shop must have 32\+ characters/);
    expect(() => loadConfig({ WEIM_PUSH_APPS: secret }, cwd)).toThrow(/push\.apps: each entry must be key:secret/);
    expect(() => loadConfig({ WEIM_PUSH_APPS: `sh op:${secret}` }, cwd)).toThrow(/push\.apps/);
    expect(() => loadConfig({ WEIM_PUSH_APPS: `shop:${secret},shop:${secret}` }, cwd)).toThrow(/listed twice/);
    expect(() => loadConfig({ WEIM_PUSH_MAX_BODY_CHARS: '4001' }, cwd)).toThrow(/push\.max_body_chars/);
  });

  it('messages.media_origins: http(s) origins written as the URL standard writes them, never the Qiniu domain', () => {
    const cwd = emptyDir();
    expect(mediaOrigins(loadConfig({}, cwd))).toEqual(new Set());
    const listed = loadConfig({ WEIM_MESSAGES_MEDIA_ORIGINS: ' https://media.example.com , http://127.0.0.1:8081,https://[::1]:9000 ' }, cwd);
    expect(mediaOrigins(listed)).toEqual(new Set(['https://media.example.com', 'http://127.0.0.1:8081', 'https://[::1]:9000']));
    for (const bad of ['https://media.example.com/', 'https://media.example.com/pics', 'https://Media.example.com', 'https://media.example.com:443', 'ftp://media.example.com', 'media.example.com', 'https://u@media.example.com', 'https://media.example.com?x', '*']) {
      expect(() => loadConfig({ WEIM_MESSAGES_MEDIA_ORIGINS: bad }, cwd), bad).toThrow(/messages\.media_origins/);
    }
    expect(() => loadConfig({ WEIM_MESSAGES_MEDIA_ORIGINS: 'https://Media.example.com' }, cwd)).toThrow(/write it https:\/\/media\.example\.com/);
    const qiniu = { WEIM_UPLOADS_STORE: 'qiniu', WEIM_QINIU_ACCESS_KEY: 'ak', WEIM_QINIU_SECRET_KEY: 'sk', WEIM_QINIU_BUCKET: 'b', WEIM_QINIU_DOMAIN: 'https://cdn.example.com' };
    expect(() => loadConfig({ ...qiniu, WEIM_MESSAGES_MEDIA_ORIGINS: 'https://media.example.com,https://cdn.example.com' }, cwd)).toThrow(/must not list qiniu\.domain/);
    expect(mediaOrigins(loadConfig({ ...qiniu, WEIM_MESSAGES_MEDIA_ORIGINS: 'https://media.example.com' }, cwd))).toEqual(new Set(['https://media.example.com']));
  });

  it('cluster mode needs its Redis, its etcd and a shared (MySQL) database', () => {
    const cwd = emptyDir();
    const mysql = { WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: 'mysql://u:p@127.0.0.1:3306/weim' };
    const cluster = { ...mysql, WEIM_CLUSTER_MODE: 'cluster', WEIM_CLUSTER_REDIS_URL: 'redis://127.0.0.1:6379', WEIM_CLUSTER_ETCD_HOSTS: 'http://127.0.0.1:2379' };
    expect(loadConfig(cluster, cwd).cluster).toMatchObject({ mode: 'cluster', lease_seconds: 5, key_prefix: 'weim' });
    expect(() => loadConfig({ ...cluster, WEIM_CLUSTER_REDIS_URL: '' }, cwd)).toThrow(/cluster\.redis_url/);
    expect(() => loadConfig({ ...cluster, WEIM_CLUSTER_ETCD_HOSTS: '' }, cwd)).toThrow(/cluster\.etcd_hosts/);
    expect(() => loadConfig({ ...cluster, WEIM_DB_DIALECT: 'sqlite' }, cwd)).toThrow(/db\.dialect/);
    expect(() => loadConfig({ ...cluster, WEIM_CLUSTER_MODE: 'mesh' }, cwd)).toThrow(/cluster\.mode/);
    expect(() => loadConfig({ ...cluster, WEIM_CLUSTER_LEASE_SECONDS: '1' }, cwd)).toThrow(/cluster\.lease_seconds/);
    // Several worker processes are several nodes: only a cluster can have them.
    expect(loadConfig({ ...cluster, WEIM_SERVER_WORKERS: '3' }, cwd).server.workers).toBe(3);
    expect(() => loadConfig({ WEIM_SERVER_WORKERS: '2' }, cwd)).toThrow(/server\.workers: more than 1 needs cluster\.mode cluster/);
  });

  it('a before-send hook needs an http(s) URL and a 32+ character secret; a word list file must exist', () => {
    const cwd = emptyDir();
    const hook = { WEIM_HOOKS_BEFORE_SEND_URL: 'https://hooks.example.com/check', WEIM_HOOKS_SECRET: 's'.repeat(32) };
    expect(loadConfig(hook, cwd).hooks).toMatchObject({ before_send_timeout_ms: 300, before_send_on_failure: 'allow' });
    expect(() => loadConfig({ ...hook, WEIM_HOOKS_SECRET: '' }, cwd)).toThrow(/hooks\.secret: a before-send hook needs a signing secret/);
    expect(() => loadConfig({ ...hook, WEIM_HOOKS_BEFORE_SEND_URL: 'ftp://x' }, cwd)).toThrow(/hooks\.before_send_url/);
    expect(() => loadConfig({ ...hook, WEIM_HOOKS_BEFORE_SEND_ON_FAILURE: 'maybe' }, cwd)).toThrow(/hooks\.before_send_on_failure/);
    expect(() => loadConfig({ WEIM_FILTER_WORDS_FILE: join(cwd, 'missing.txt') }, cwd)).toThrow(/filter\.words_file: no such file/);
    expect(() => loadConfig({ WEIM_FILTER_MODE: 'shout' }, cwd)).toThrow(/filter\.mode/);
  });

  it('webhooks need an http(s) URL, a 32+ character secret, known event types and a claim longer than a POST may take', () => {
    const cwd = emptyDir();
    const hooks = { WEIM_WEBHOOKS_URL: 'https://crm.example.com/weim', WEIM_WEBHOOKS_SECRET: 's'.repeat(32) };
    expect(loadConfig(hooks, cwd).webhooks).toMatchObject({ events: '*', interval_ms: 200, max_attempts: 30, claim_ms: 30_000, timeout_ms: 5000 });
    expect(() => loadConfig({ ...hooks, WEIM_WEBHOOKS_SECRET: 'short' }, cwd)).toThrow(/webhooks\.secret/);
    expect(() => loadConfig({ ...hooks, WEIM_WEBHOOKS_EVENTS: 'message.sent,message.deleted' }, cwd)).toThrow(/webhooks\.events: unknown event types: message\.deleted/);
    expect(() => loadConfig({ ...hooks, WEIM_WEBHOOKS_CLAIM_MS: '5000' }, cwd)).toThrow(/webhooks\.claim_ms: must be longer than webhooks\.timeout_ms/);
  });

  it('offline push: a webhook needs its secret, an FCM file must be a service account, APNs needs its ids', () => {
    const cwd = emptyDir();
    expect(() => loadConfig({ WEIM_OFFLINE_PUSH_WEBHOOK_URL: 'https://push.example.com', WEIM_OFFLINE_PUSH_WEBHOOK_SECRET: 'short' }, cwd)).toThrow(/offline_push\.webhook_secret/);
    const notAccount = fileWith('{"project_id": "p"}');
    expect(() => loadConfig({ WEIM_OFFLINE_PUSH_FCM_SERVICE_ACCOUNT_FILE: notAccount }, cwd)).toThrow(/offline_push\.fcm_service_account_file: not a service-account file: no client_email, private_key, token_uri/);
    expect(() => loadConfig({ WEIM_OFFLINE_PUSH_APNS_KEY_FILE: fileWith('key') }, cwd)).toThrow(/offline_push\.apns_key_id: required/);
  });

  it('admin.token: empty (no admin API) or 32+ characters', () => {
    const cwd = emptyDir();
    expect(loadConfig({}, cwd).admin.token).toBe('');
    expect(loadConfig({ WEIM_ADMIN_TOKEN: 'a'.repeat(32) }, cwd).admin.token).toHaveLength(32);
    expect(() => loadConfig({ WEIM_ADMIN_TOKEN: 'short' }, cwd)).toThrow(/admin\.token/);
  });

  it('production refuses missing or default secrets', () => {
    const cwd = emptyDir();
    const strong = 'x'.repeat(40);
    expect(() => loadConfig({ NODE_ENV: 'production' }, cwd)).toThrow(/auth\.jwt_secret/);
    expect(() => loadConfig({ NODE_ENV: 'production', WEIM_AUTH_JWT_SECRET: DEV_JWT_SECRET }, cwd)).toThrow(/auth\.jwt_secret/);
    expect(() => loadConfig({ NODE_ENV: 'production', WEIM_AUTH_JWT_SECRET: 'short' }, cwd)).toThrow(/auth\.jwt_secret/);
    expect(() => loadConfig({ NODE_ENV: 'production', WEIM_AUTH_JWT_SECRET: strong }, cwd)).toThrow(/realname\.id_card_secret/);
    const secrets = { NODE_ENV: 'production', WEIM_AUTH_JWT_SECRET: strong, WEIM_REALNAME_ID_CARD_SECRET: strong };
    expect(() => loadConfig(secrets, cwd)).toThrow(/server\.metrics_token/);
    expect(() => loadConfig({ ...secrets, WEIM_SERVER_METRICS_TOKEN: 'short' }, cwd)).toThrow(/server\.metrics_token/);
    const config = loadConfig({ ...secrets, WEIM_SERVER_METRICS_TOKEN: 'm'.repeat(16) }, cwd);
    expect(config.production).toBe(true);
  });

  it('every problem is named in one message, not one per restart', () => {
    const cwd = emptyDir();
    let message = '';
    try {
      loadConfig({ NODE_ENV: 'production', PORT: 'eighty', WEIM_UPLOADS_STORE: 'qiniu', WEIM_CONFIG: fileWith('server:\n  prot: 1\n') }, cwd);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    const lines = message.split('\n');
    expect(lines[0]).toBe('9 problems in the configuration:');
    for (const key of ['server.port', 'server.prot', 'auth.jwt_secret', 'realname.id_card_secret', 'server.metrics_token', 'qiniu.access_key', 'qiniu.secret_key', 'qiniu.bucket', 'qiniu.domain']) {
      expect(lines.filter((l) => l.startsWith(`config: ${key}: `))).toHaveLength(1);
    }
    // One problem reads as it always did.
    expect(() => loadConfig({ PORT: 'eighty' }, cwd)).toThrow(/^config: server\.port: [^\n]+$/);
  });

  it('uploads: caps and booleans from env; store=qiniu needs its keys and a bare domain', () => {
    const cwd = emptyDir();
    const defaults = loadConfig({}, cwd);
    expect(defaults.uploads).toMatchObject({ store: 'local', public_path: '/files', video_max_bytes: 100 * 1024 * 1024, avatar_max_bytes: 2 * 1024 * 1024 });
    expect(defaults.qiniu.private).toBe(false);
    expect(loadConfig({ WEIM_QINIU_PRIVATE: 'false' }, cwd).qiniu.private).toBe(false);
    expect(loadConfig({ WEIM_QINIU_PRIVATE: 'true' }, cwd).qiniu.private).toBe(true);
    expect(() => loadConfig({ WEIM_QINIU_PRIVATE: 'yes' }, cwd)).toThrow(/qiniu\.private/);
    expect(() => loadConfig({ WEIM_UPLOADS_PUBLIC_PATH: '../x' }, cwd)).toThrow(/uploads\.public_path/);
    expect(() => loadConfig({ WEIM_UPLOADS_STORE: 'qiniu' }, cwd)).toThrow(/qiniu\.access_key/);
    const qiniu = { WEIM_UPLOADS_STORE: 'qiniu', WEIM_QINIU_ACCESS_KEY: 'ak', WEIM_QINIU_SECRET_KEY: 'sk', WEIM_QINIU_BUCKET: 'b' };
    expect(() => loadConfig(qiniu, cwd)).toThrow(/qiniu\.domain/);
    expect(() => loadConfig({ ...qiniu, WEIM_QINIU_DOMAIN: 'https://cdn.example.com/path' }, cwd)).toThrow(/qiniu\.domain/);
    expect(loadConfig({ ...qiniu, WEIM_QINIU_DOMAIN: 'https://cdn.example.com' }, cwd).uploads.store).toBe('qiniu');
  });
});
