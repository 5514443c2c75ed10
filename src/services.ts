import type { Config } from './config.js';
import type { Db } from './db/database.js';
import { createRateLimiter, type RateLimitStore } from './http/rate-limiter.js';
import { AuthService, TokenService } from './modules/auth/index.js';
import { FriendsService } from './modules/friends/index.js';
import { GroupsService } from './modules/groups/index.js';
import { MessagesService, MessageWriter } from './modules/messages/index.js';
import { UsersService } from './modules/users/index.js';
import type { Notifier } from './notify/notifier.js';

export interface Services {
  tokens: TokenService;
  auth: AuthService;
  users: UsersService;
  friends: FriendsService;
  groups: GroupsService;
  writer: MessageWriter;
  messages: MessagesService;
}

/** Constructs every feature service from config, the database, a rate-limit store and the notifier. */
export function createServices(config: Config, db: Db, store: RateLimitStore, notifier: Notifier): Services {
  const limit = (name: string, points: number, windowSeconds: number) => createRateLimiter(store, { name, points, windowSeconds });
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
  );
  const writer = new MessageWriter(db);
  return {
    tokens,
    auth,
    users: new UsersService(db, config.realname.id_card_secret),
    friends: new FriendsService(db, notifier),
    groups: new GroupsService(db, notifier, limit('group-create', config.groups.create_max_per_hour, 3600), {
      maxMembers: config.groups.max_members,
      membersPageSize: config.groups.members_page_size,
      historyFromJoin: config.groups.history_from_join === 'true',
    }),
    writer,
    messages: new MessagesService(db, writer, notifier, limit('message-send', config.messages.send_max_per_10s, 10), {
      maxBodyChars: config.messages.max_body_chars,
      withdrawWindowMs: config.messages.withdraw_window_seconds * 1000,
    }),
  };
}
