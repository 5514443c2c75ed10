import { deviceInput, previewsInput } from '../modules/devices/devices.schema.js';
import { banInput, groupInput, lookupInput, messageInput, userIdInput } from '../modules/admin/admin.schema.js';
import { z } from 'zod';
import { chatUploadInput } from '../modules/attachments/attachments.schema.js';
import { credentialsInput, loginInput } from '../modules/auth/auth.schema.js';
import { friendDeleteInput, friendHandleInput, friendRequestInput } from '../modules/friends/friends.schema.js';
import { locationInput, nearbyInput } from '../modules/geo/geo.schema.js';
import { groupCreateInput, groupIdInput, groupMembersInput, joinHandleInput, joinListInput, joinRequestInput, kickInput, adminSetInput, muteInput, muteAllInput, transferInput, groupUpdateInput, inviteInput } from '../modules/groups/groups.schema.js';
import { editInput, reactInput, sendGroupInput, sendUserInput, withdrawInput } from '../modules/messages/messages.schema.js';
import { onlineInput } from '../modules/presence/presence.routes.js';
import { pushSchemas } from '../modules/push/push.schema.js';
import { errorReasons } from '../errors.js';
import { jsonSchemaOf } from './validate.js';
import { appSchemas } from '../modules/apps/apps.routes.js';
import { xlveinPushInput } from '../modules/apps/xlvein.js';
import { searchInput } from '../modules/search/search.schema.js';
import { historyInput, readInput, receiptsInput, syncInput } from '../modules/sync/sync.schema.js';
import { nicknameInput, realNameInput, userInfoInput } from '../modules/users/users.schema.js';

type Auth = 'token' | 'none' | 'push' | 'admin';

/** One route of the API: its path under /api/v1, what it is for, how it is authorised, its input. */
interface RouteDoc {
  path: string;
  tag: string;
  summary: string;
  auth: Auth;
  input?: z.ZodType;
  /** multipart/form-data: the file field's name (the other fields are `input`'s). */
  file?: string;
}

const route = (tag: string, auth: Auth, path: string, summary: string, input?: z.ZodType, file?: string): RouteDoc => ({ path, tag, summary, auth, input, file });

/**
 * Every POST route of `/api/v1` with the zod schema its handler parses the body with (the same
 * object, imported from the module): the OpenAPI document is generated from these, and a test
 * checks that the list and the app's routes are the same set.
 */
function apiRoutes(push: ReturnType<typeof pushSchemas> | undefined, admin: boolean): RouteDoc[] {
  const routes = [
    route('accounts', 'none', '/register', 'Create an account; answers a token like /login', credentialsInput),
    route('accounts', 'none', '/login', 'Sign in with username and password; data.t is the token for the Login-Token header', loginInput),
    route('accounts', 'token', '/logout', 'End this session (its sockets are closed with 4003)'),
    route('accounts', 'token', '/logout/all', 'End every session of the user'),
    route('users', 'token', '/user/info', 'A user (yourself without user_id)', userInfoInput),
    route('users', 'token', '/user/update/nickname', 'Change your nickname', nicknameInput),
    route('users', 'token', '/user/update/realname', 'Real-name check', realNameInput),
    route('users', 'token', '/user/update/avatar', 'Set your avatar (multipart field avatar)', undefined, 'avatar'),
    route('users', 'token', '/user/update/location', 'Report where you are (for nearby people)', locationInput),
    route('users', 'token', '/geo/users', 'People near a point, nearest first', nearbyInput),
    route('friends', 'token', '/im/friend/add/request', 'Ask someone to be your friend', friendRequestInput),
    route('friends', 'token', '/im/friend/add/reqs', 'Friend requests waiting for you'),
    route('friends', 'token', '/im/friend/add/handle', 'Accept (1) or reject (0) a friend request', friendHandleInput),
    route('friends', 'token', '/im/friend/list', 'Your friends'),
    route('friends', 'token', '/im/friend/del', 'End a friendship', friendDeleteInput),
    route('friends', 'token', '/im/friend/online', 'Which of these friends are online', onlineInput),
    route('friends', 'token', '/im/friend/search', 'Find users by username or nickname', searchInput),
    route('groups', 'token', '/im/group/create', 'Create a group (you are its owner)', groupCreateInput),
    route('groups', 'token', '/im/group/my', 'Your groups'),
    route('groups', 'token', '/im/group/info', 'A group', groupIdInput),
    route('groups', 'token', '/im/group/members', 'A page of a group\'s members', groupMembersInput),
    route('groups', 'token', '/im/group/join/request', 'Ask to join a group', joinRequestInput),
    route('groups', 'token', '/im/group/join/list', 'Join requests of your groups', joinListInput),
    route('groups', 'token', '/im/group/join/handle', 'Accept or reject a join request (owner or admin)', joinHandleInput),
    route('groups', 'token', '/im/group/leave', 'Leave a group', groupIdInput),
    route('groups', 'token', '/im/group/shot', 'Remove a member (owner or admin)', kickInput),
    route('groups', 'token', '/im/group/search', 'Find groups by name', searchInput),
    route('messages', 'token', '/im/chat/send/user', 'Send a message to a friend', sendUserInput),
    route('messages', 'token', '/im/chat/send/group', 'Send a message to a group', sendGroupInput),
    route('messages', 'token', '/im/chat/withdraw/user', 'Withdraw a message to a friend', withdrawInput),
    route('messages', 'token', '/im/chat/withdraw/group', 'Withdraw a message to a group', withdrawInput),
    route('messages', 'token', '/im/chat/edit/user', 'Edit a text message to a friend (within messages.edit_window_seconds)', editInput),
    route('messages', 'token', '/im/chat/react', 'Put an emoji on a message or take it off', reactInput),
    route('messages', 'token', '/im/chat/edit/group', 'Edit a text message to a group (within messages.edit_window_seconds)', editInput),
    route('messages', 'token', '/im/chat/upload', 'Upload a picture, voice, video or file (multipart fields file and type); its URL is a message body', chatUploadInput, 'file'),
    route('messages', 'token', '/im/chat/history', 'A conversation\'s messages, newest first', historyInput),
    route('groups', 'token', '/im/group/admin/set', 'The owner names or unnames an admin', adminSetInput),
    route('groups', 'token', '/im/group/mute', 'The owner or an admin mutes a member for some seconds (0 lifts it)', muteInput),
    route('groups', 'token', '/im/group/mute/all', 'The owner or an admin mutes the group for members (on 1) or lifts it (0)', muteAllInput),
    route('groups', 'token', '/im/group/update', 'The owner or an admin renames the group, sets its notice, picture or join mode', groupUpdateInput),
    route('groups', 'token', '/im/group/invite', 'A member adds friends to the group (in an invite-only group: the owner or an admin)', inviteInput),
    route('groups', 'token', '/im/group/dissolve', 'The owner dissolves the group (no more messages; members keep its history)', groupIdInput),
    route('groups', 'token', '/im/group/transfer', 'The owner hands the group to a member (and becomes an admin)', transferInput),
    route('messages', 'token', '/im/chat/read', 'Mark a conversation read up to a seq', readInput),
    route('messages', 'token', '/im/chat/receipts', 'Who has read one of your messages (counts; names in conversations of at most messages.receipt_list_max members)', receiptsInput),
    route('messages', 'token', '/im/conversation/list', 'Your conversations with unread counts and last messages'),
    route('messages', 'token', '/im/sync', 'What you missed since your cursors (or a sync token)', syncInput),
  ];
  routes.push(
    route('users', 'token', '/user/device/register', 'Register a push token (fcm, apns or webhook) for offline notifications', deviceInput),
    route('users', 'token', '/user/device/unregister', 'Remove one of your push tokens', deviceInput),
    route('users', 'token', '/user/device/previews', 'Show message text in notifications (1) or "New message" (0)', previewsInput),
    route('gateway', 'push', '/apps/send', "Realtime gateway: send to an app's connections, user, channel or all of it (signed with the app's key and secret; docs/gateway.md)", appSchemas.send),
    route('gateway', 'push', '/apps/bind', 'Realtime gateway: bind a connection to a user id ("" unbinds)', appSchemas.bind),
    route('gateway', 'push', '/apps/join', 'Realtime gateway: put a connection in a channel (1001 to its members)', appSchemas.channel),
    route('gateway', 'push', '/apps/leave', 'Realtime gateway: take a connection out of a channel (1002 to the rest)', appSchemas.channel),
    route('gateway', 'push', '/apps/online', "Realtime gateway: a user's or a channel's connections, cluster-wide, paged", appSchemas.online),
    route('gateway', 'push', '/apps/close', 'Realtime gateway: close a connection', appSchemas.close),
    route('gateway', 'push', '/apps/info', "Realtime gateway: a connection's info (bin-x's per-connection map)", appSchemas.close),
    route('gateway', 'push', '/apps/info/set', "Realtime gateway: replace a connection's info (at most 50 keys)", appSchemas.setInfo),
    route('gateway', 'push', '/apps/info/merge', "Realtime gateway: merge keys into a connection's info", appSchemas.setInfo),
    route('gateway', 'push', '/apps/kick', "Realtime gateway: close every connection of a user", appSchemas.kick),
    route('gateway', 'none', '/im/push', "xlvein's push to an app's user, signed in the body (MD5 over app_key, message, nonce, send_to, ts with the app's secret); answers xlvein's own envelope {error, data, message} (docs/gateway.md)", xlveinPushInput),
  );
  if (admin) {
    routes.push(
      route('admin', 'admin', '/admin/users/ban', 'Ban a user: login refused with the reason, every session ended on every node', banInput),
      route('admin', 'admin', '/admin/users/unban', 'Lift a ban', userIdInput),
      route('admin', 'admin', '/admin/users/lookup', 'A user by id or username, with ban and online state', lookupInput),
      route('admin', 'admin', '/admin/groups/dissolve', 'Dissolve a group (its members are told, history stays)', groupInput),
      route('admin', 'admin', '/admin/messages/delete', 'Delete a message: a withdraw whatever its age', messageInput),
      route('admin', 'admin', '/admin/stats', 'Users, groups, messages a day, and who is online on this node'),
    );
  }
  if (push) {
    routes.push(
      route('push', 'push', '/push/users', 'Push a body to users (stored, synced)', push.users),
      route('push', 'push', '/push/group', 'Push a body to every member of a group', push.group),
      route('push', 'push', '/push/broadcast', 'Push a body to every signed-in socket now (not stored)', push.broadcast),
      route('push', 'push', '/push/online', 'Which of these users are online', push.online),
      route('push', 'push', '/push/logout', 'End every session of a user', push.logout),
    );
  }
  return routes;
}

const envelope = (data: Record<string, unknown>, reason?: Record<string, unknown>) => ({
  type: 'object',
  required: ['code', 'msg', 'data', ...(reason ? ['reason'] : [])],
  properties: { code: { type: 'integer' }, msg: { type: 'string' }, ...(reason ? { reason } : {}), data },
});

/** Every route: the language of an error's `msg`. */
const ACCEPT_LANGUAGE = {
  name: 'Accept-Language',
  in: 'header',
  required: false,
  description: 'The language of an error\'s `msg`: Chinese (`zh`, `zh-CN`, …) or English (`en`, …); `i18n.default_locale` (zh) when it names neither',
  schema: { type: 'string', examples: ['en', 'zh-CN,zh;q=0.9'] },
};

const ERRORS: Record<string, string> = {
  400: 'Validation failed or a rule refused (code 1000; `msg` names the field); a word of the word filter (code 1007)',
  401: 'Token missing, expired or revoked; or a push request not signed right (code 1001)',
  403: 'Forbidden (code 1003); muted in the group (1006); rejected by the before-send hook (1008); the account is banned (1009, at /login)',
  404: 'Not found (code 1002)',
  413: 'Body over the size limit (code 1004)',
  429: 'Rate limited (code 1005); `Retry-After` says when to try again',
  503: 'The database is out of reach for a moment (code 1503): retry',
};

/** The push API's signature headers (docs/api.md#server-push-api). */
const PUSH_HEADERS = ['X-Weim-App', 'X-Weim-Timestamp', 'X-Weim-Nonce', 'X-Weim-Signature'];

/**
 * The OpenAPI 3.1 document of `/api/v1`, generated from the schemas the routes parse their bodies
 * with. Push routes are in it only when the push API is on (`push` given).
 */
export function openApiDocument(options: { version: string; push?: { maxUsers: number; maxBodyChars: number }; admin?: boolean }): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const r of apiRoutes(options.push ? pushSchemas(options.push) : undefined, options.admin ?? false)) {
    const schema = r.input ? jsonSchemaOf(r.input) : { type: 'object', properties: {} };
    const content = r.file
      ? { 'multipart/form-data': { schema: { ...schema, properties: { ...(schema.properties as object), [r.file]: { type: 'string', format: 'binary' } }, required: [...((schema.required as string[]) ?? []), r.file] } } }
      : { 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema } };
    const errors = Object.fromEntries(Object.entries(ERRORS).map(([status, description]) => [status, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]));
    paths[`/api/v1${r.path}`] = {
      post: {
        tags: [r.tag],
        summary: r.summary,
        operationId: r.path.slice(1).replace(/\/(.)/g, (_, c: string) => c.toUpperCase()),
        security: r.auth === 'token' ? [{ loginToken: [] }] : r.auth === 'push' ? [{ pushApp: [] }] : r.auth === 'admin' ? [{ adminToken: [] }] : [],
        parameters: [
          ...(r.auth === 'push' ? PUSH_HEADERS.slice(1).map((name) => ({ name, in: 'header', required: true, schema: { type: 'string' } })).concat([{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' } }]) : []),
          ACCEPT_LANGUAGE,
        ],
        requestBody: { required: r.input !== undefined, content },
        responses: { 200: { description: 'Done (code 0)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Ok' } } } }, ...errors },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'weim',
      version: options.version,
      description: 'The REST API of weim. Every route is POST and takes JSON or a form; every answer is the envelope `{code, msg, data}`. Real time is the WebSocket at `/ws` (docs/protocol.md); field rules and limits: docs/api.md.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: {
        Ok: envelope({ description: 'The answer; its shape is in docs/api.md' }),
        Error: envelope({ type: 'null' }, { type: 'string', enum: Object.keys(errorReasons), description: 'The rule broken (docs/errors.md); `msg` is in the language of Accept-Language (zh when it names neither)' }),
      },
      securitySchemes: {
        loginToken: { type: 'apiKey', in: 'header', name: 'Login-Token', description: 'The token /login answers (`data.t`)' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'config admin.token (never a user token)' },
        pushApp: { type: 'apiKey', in: 'header', name: 'X-Weim-App', description: 'A push app, with X-Weim-Timestamp, X-Weim-Nonce and X-Weim-Signature (HMAC-SHA256, docs/api.md#server-push-api)' },
      },
    },
  };
}
