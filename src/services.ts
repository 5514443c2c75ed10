import { join } from 'node:path';
import { type Config, mediaOrigins } from './config.js';
import type { Db } from './db/database.js';
import { createRateLimiter, type RateLimitStore } from './http/rate-limiter.js';
import { AttachmentsService } from './modules/attachments/index.js';
import { AuthService, TokenService } from './modules/auth/index.js';
import { FriendsService } from './modules/friends/index.js';
import { GeoService } from './modules/geo/index.js';
import { SearchService } from './modules/search/index.js';
import { GroupAdminService, GroupsService } from './modules/groups/index.js';
import { MediaBodies, type MessageStore, MessagesService, MessageWriter, ThreadedMessageWriter, TypingService, EditsService, ReactionsService } from './modules/messages/index.js';
import { UsersService } from './modules/users/index.js';
import { DevicesService } from './modules/devices/index.js';
import { ConversationsService, ReceiptsService, SyncService } from './modules/sync/index.js';
import { type Moderation, NO_MODERATION } from './modules/moderation/index.js';
import { NO_WEBHOOKS, type WebhookRecorder } from './modules/webhooks/index.js';
import type { Notifier } from './notify/notifier.js';
import type { SearchBackend } from './search/backend.js';
import type { BlobStore } from './storage/blob-store.js';
import { LocalBlobStore } from './storage/blob-store.local.js';
import { QiniuBlobStore } from './storage/blob-store.qiniu.js';

export interface Services {
  tokens: TokenService;
  auth: AuthService;
  users: UsersService;
  friends: FriendsService;
  groups: GroupsService;
  groupAdmin: GroupAdminService;
  writer: MessageStore;
  messages: MessagesService;
  typing: TypingService;
  edits: EditsService;
  reactions: ReactionsService;
  blobs: BlobStore;
  attachments: AttachmentsService;
  sync: SyncService;
  conversations: ConversationsService;
  receipts: ReceiptsService;
  search: SearchService;
  geo: GeoService;
  devices: DevicesService;
}

/** Optional collaborators: what services report to (metrics), and the writer's own connection. */
export interface ServiceOptions {
  /** The word filter and the before-send hook (none by default). */
  moderation?: Moderation;
  /** Where services record webhook events (none by default). */
  webhooks?: WebhookRecorder;
  onMessageBatch?: (size: number, seconds: number) => void;
  /** MySQL: the message writer's autocommit-off session (`DbHandle.openManualCommit`). */
  writerSession?: Db;
  /** MySQL: a second such session, for a batch beside a slow one (`WriterOptions.spareSession`). */
  writerSpareSession?: Db;
  /** MySQL: run the message writer on a thread of its own, on this database (mysql:// URL); the sessions are then unused. */
  writerThreadLocation?: string;
}

/** Constructs every feature service from config, the database, a rate-limit store and the notifier. */
export function createServices(config: Config, db: Db, store: RateLimitStore, notifier: Notifier, search: SearchBackend, options: ServiceOptions = {}): Services {
  const limit = (name: string, points: number, windowSeconds: number, lease?: number) => createRateLimiter(store, { name, points, windowSeconds, ...(lease ? { lease } : {}) });
  // Counted on every message: in a cluster a node takes a tenth of the limit from Redis at a time.
  const perMessage = (name: string, points: number, windowSeconds: number) => limit(name, points, windowSeconds, Math.max(1, Math.floor(points / 10)));
  const moderation = options.moderation ?? NO_MODERATION;
  const webhooks = options.webhooks ?? NO_WEBHOOKS;
  const sentEvents = webhooks.endpoints('message.sent');
  const window = config.auth.login_window_seconds;
  const tokens = new TokenService(db, { secret: config.auth.jwt_secret, ttlSeconds: config.auth.token_ttl_seconds });
  const auth = new AuthService(
    db,
    tokens,
    {
      loginPerUser: limit('login-user', config.auth.login_max_per_user, window),
      loginPerIp: limit('login-ip', config.auth.login_max_per_ip, window),
      registerPerIp: limit('register-ip', config.auth.register_max_per_ip, window),
    },
    config.auth.bcrypt_cost,
    config.uploads.default_avatar,
    search.index,
  );
  const writer = options.writerThreadLocation
    ? new ThreadedMessageWriter(options.writerThreadLocation, { onBatch: options.onMessageBatch, webhooks: sentEvents, delayMs: config.messages.batch_delay_ms })
    : new MessageWriter(db, { onBatch: options.onMessageBatch, session: options.writerSession, spareSession: options.writerSpareSession, webhooks: sentEvents, delayMs: config.messages.batch_delay_ms });
  const users = new UsersService(db, config.realname.id_card_secret, search.index, moderation);
  const friends = new FriendsService(db, notifier, webhooks);
  const blobs = createBlobStore(config);
  const uploads = config.uploads;
  return {
    tokens,
    auth,
    users,
    blobs,
    attachments: new AttachmentsService(db, blobs, users, limit('upload-user', uploads.max_per_user, uploads.window_seconds), {
      perType: { 1: uploads.picture_max_bytes, 2: uploads.voice_max_bytes, 3: uploads.video_max_bytes, 6: uploads.file_max_bytes },
      avatar: uploads.avatar_max_bytes,
    }),
    friends,
    groups: new GroupsService(db, notifier, limit('group-create', config.groups.create_max_per_hour, 3600), {
      maxMembers: config.groups.max_members,
      membersPageSize: config.groups.members_page_size,
      historyFromJoin: config.groups.history_from_join === 'true',
    }, search.index, moderation, webhooks),
    groupAdmin: new GroupAdminService(db, notifier, { maxAdmins: config.groups.max_admins }, search.index, moderation, webhooks),
    writer,
    sync: new SyncService(db, config.messages.sync_page_size),
    search: new SearchService(search.index, config.search.page_size),
    geo: new GeoService(db, search.index, search.nearby, limit('location-update', config.geo.update_max_per_minute, 60), {
      windowDays: config.geo.window_days,
      pageSize: config.geo.page_size,
    }),
    conversations: new ConversationsService(db, notifier, { readNotices: config.messages.read_notices === 'true' }),
    messages: new MessagesService(db, writer, notifier, friends, perMessage('message-send', config.messages.send_max_per_10s, 10), new MediaBodies(db, blobs, mediaOrigins(config)), {
      maxBodyChars: config.messages.max_body_chars,
      withdrawWindowMs: config.messages.withdraw_window_seconds * 1000,
    }, moderation, webhooks),
    typing: new TypingService(db, notifier, friends, config.messages.typing_group_max_members),
    edits: new EditsService(db, notifier, perMessage('message-edit', config.messages.send_max_per_10s, 10), {
      maxBodyChars: config.messages.max_body_chars,
      editWindowMs: config.messages.edit_window_seconds * 1000,
    }, moderation, webhooks),
    reactions: new ReactionsService(db, notifier, perMessage('message-react', config.messages.send_max_per_10s, 10), { maxKinds: config.messages.reaction_kinds_max }),
    receipts: new ReceiptsService(db, { listMax: config.messages.receipt_list_max }),
    devices: new DevicesService(db),
  };
}

/** The configured attachment store: files under the data directory, or Qiniu. */
function createBlobStore(config: Config): BlobStore {
  const kind = config.uploads.store;
  switch (kind) {
    case 'local':
      return new LocalBlobStore(join(config.data_dir, 'blobs'), config.uploads.public_path);
    case 'qiniu':
      return new QiniuBlobStore({
        accessKey: config.qiniu.access_key,
        secretKey: config.qiniu.secret_key,
        bucket: config.qiniu.bucket,
        domain: config.qiniu.domain,
        private: config.qiniu.private,
        urlTtlSeconds: config.qiniu.url_ttl_seconds,
        uploadUrl: config.qiniu.upload_url,
      });
    default:
      throw new Error(`unknown uploads.store ${String(kind satisfies never)}`);
  }
}
