import fc from 'fast-check';
import type { Entries, FieldSpec, RouteSpec } from './cases.js';
import {
  badCursors, badSyncToken, clientMsgIdKind, friendUsernameKind, idCardKind, loginKind, messageBodyKind, passwordKind, realNameKind, usernameKind, userIdListKind,
} from './kinds.js';
import { decimalKind, enumKind, type FieldKind, idKind, intRangeKind, nonScalarJunk, seqKind, textKind, textOf } from './values.js';
import type { World } from './world.js';

const req = (k: FieldKind): FieldSpec => ({ ...k, required: true });
const opt = (k: FieldKind): FieldSpec => ({ ...k, required: false });
const pick = <T>(...values: T[]) => fc.constantFrom(...values);

/** A well-formed body a business rule refuses, with its status. */
const ghost = (expect: number[], ...bodies: Array<fc.Arbitrary<Entries>>) => fc.oneof(...bodies).map((entries) => ({ entries, expect }));
const body = (...entries: Array<[string, fc.Arbitrary<unknown>]>): fc.Arbitrary<Entries> =>
  fc.tuple(...entries.map(([, v]) => v)).map((values) => entries.map(([k], i): [string, unknown] => [k, values[i]]));

/**
 * Every JSON/form route of docs/api.md (the upload and push routes are in uploads.ts and push.ts),
 * with its fields and the business refusals the world makes certain.
 */
export function jsonRoutes(w: World): RouteSpec[] {
  const u = { me: w.me.user.id, friend: w.friend.user.id, requester: w.requester.user.id, applicant: w.applicant.user.id, outsider: w.outsider.user.id };
  const users = idKind(pick(...Object.values(u), ...w.ghostIds));
  const groups = idKind(pick(w.ownGroup, w.joinedGroup, w.foreignGroup, ...w.ghostIds));
  const messages = idKind(pick(w.myUserMessage, w.theirUserMessage, w.myGroupMessage, w.theirGroupMessage, ...w.ghostIds));
  const conversations = idKind(pick(w.myConversation, w.groupConversation, w.foreignConversation, ...w.ghostIds));
  const ghostId = pick(...w.ghostIds);
  const usernames = [w.me.username, w.friend.username, w.requester.username, w.applicant.username, w.outsider.username];
  const login = loginKind(usernames);
  const page = intRangeKind(1, 500);
  const status = enumKind([1, 0, -1, 2]);
  const text = pick('hello', 'x', '中文 👋', '\u200fמה\u200f');
  // Bodies of every type. A media body (types 1/2/3/6) is only checked to look like a URL for now
  // (checking it against real uploads is being done elsewhere), so no "URL of no upload" is used
  // as a refused body: every refused body here is refused for every type.
  const msgBody = messageBodyKind(fc.oneof(textOf(1, 50), pick(w.uploadUrl, '{"longitude":1,"latitude":2}', '/files/chat/1/x.png')));
  const msgType = enumKind([0, 1, 2, 3, 4, 6, 10]);
  const targets = { to_uid: opt(users), group_id: opt(groups), conversation_id: opt(conversations) };
  // Exactly one of to_uid, group_id, conversation_id: none, or two or three, is refused.
  const targetCombos = (more: Array<[string, fc.Arbitrary<unknown>]>) =>
    fc.oneof(
      body(...more),
      fc.subarray(['to_uid', 'group_id', 'conversation_id'], { minLength: 2 }).chain((names) =>
        body(...names.map((n): [string, fc.Arbitrary<unknown>] => [n, (targets as Record<string, FieldSpec>)[n]!.valid]), ...more)),
    );
  const sendText: Array<[string, fc.Arbitrary<unknown>]> = [['type', pick(0, 10)], ['body', text]];

  return [
    {
      path: '/register', authed: false,
      fields: { username: req(usernameKind()), password: req(passwordKind()) },
      ghosts: ghost([409], body(['username', pick(w.me.username, w.friend.username.toUpperCase())], ['password', pick('secret123', 'another1')])),
    },
    { path: '/login', authed: false, fields: { username: req(login.username), password: req(login.password) }, ghosts: ghost([401], body(['username', pick(...usernames, 'nobody_at_all')], ['password', pick('wrong-password', 'Secret123', 'secret1234')])) },
    { path: '/logout', authed: true, fields: {} },
    { path: '/logout/all', authed: true, fields: {} },
    { path: '/user/info', authed: true, fields: { user_id: opt(users) }, ghosts: ghost([404], body(['user_id', ghostId])) },
    { path: '/user/update/nickname', authed: true, fields: { nickname: req(textKind(1, 20)) } },
    {
      path: '/user/update/realname', authed: true,
      fields: { real_name: req(realNameKind()), id_card: req(idCardKind()) },
      // A wrong check character, an unknown region, a date that does not exist, 17 characters.
      ghosts: ghost([400], body(['real_name', pick('张三', '欧阳·娜娜')], ['id_card', pick('110105199003070031', '990105199003070035', '110105199002300036', '11010519900307013', '')])),
    },
    { path: '/user/update/location', authed: true, fields: { longitude: req(decimalKind(-180, 180)), latitude: req(decimalKind(-90, 90)) } },
    { path: '/geo/users', authed: true, fields: { longitude: req(decimalKind(-180, 180)), latitude: req(decimalKind(-90, 90)), distance: opt(decimalKind(0, 100, true)), page: opt(page) } },
    { path: '/im/friend/search', authed: true, fields: { word: req(textKind(2, 20)), page: opt(page) } },
    { path: '/im/group/search', authed: true, fields: { word: req(textKind(2, 20)), page: opt(page) } },
    {
      path: '/im/friend/add/request', authed: true,
      fields: { username: opt(friendUsernameKind(usernames)), f_uid: opt(users), channel: opt(textKind(0, 32)), reason: opt(textKind(0, 100)) },
      combos: body(['channel', textOf(0, 32)], ['reason', textOf(1, 100)]),
      ghosts: fc.oneof(
        ghost([400], body(['f_uid', pick(u.me)]), body(['username', pick(w.me.username)])),
        ghost([409], body(['f_uid', pick(u.friend)]), body(['username', pick(w.friend.username)])),
        ghost([404], body(['f_uid', ghostId]), body(['username', pick('nobody_at_all', 'x')])),
      ),
    },
    { path: '/im/friend/add/reqs', authed: true, fields: {} },
    {
      path: '/im/friend/add/handle', authed: true,
      fields: { f_uid: opt(users), request_id: opt(idKind(pick(w.pendingRequestId, ...w.ghostIds))), status: req(status) },
      combos: body(['status', pick(1, -1)]),
      ghosts: ghost([404], body(['f_uid', pick(u.friend, u.outsider, u.me, ...w.ghostIds)], ['status', pick(1, 0, -1, 2)]), body(['request_id', ghostId], ['status', pick(1, -1)])),
    },
    { path: '/im/friend/list', authed: true, fields: {} },
    { path: '/im/friend/del', authed: true, fields: { f_uid: req(users) }, ghosts: ghost([400, 404], body(['f_uid', pick(u.requester, u.applicant, u.outsider, u.me, ...w.ghostIds)])) },
    { path: '/im/friend/online', authed: true, fields: { user_ids: opt(userIdListKind(Object.values(u))) } },
    { path: '/im/group/create', authed: true, fields: { name: req(textKind(1, 30)) } },
    { path: '/im/group/my', authed: true, fields: {} },
    { path: '/im/group/info', authed: true, fields: { group_id: req(groups) }, ghosts: ghost([404], body(['group_id', ghostId])) },
    {
      path: '/im/group/members', authed: true, fields: { group_id: req(groups), page: opt(intRangeKind(1, 10_000)) },
      ghosts: fc.oneof(ghost([404], body(['group_id', ghostId])), ghost([403], body(['group_id', pick(w.foreignGroup)]))),
    },
    {
      path: '/im/group/join/request', authed: true, fields: { group_id: req(groups), reason: opt(textKind(0, 100)) },
      ghosts: fc.oneof(ghost([404], body(['group_id', ghostId])), ghost([409], body(['group_id', pick(w.ownGroup, w.joinedGroup)]))),
    },
    { path: '/im/group/join/list', authed: true, fields: { group_id: opt(groups) }, ghosts: ghost([404], body(['group_id', ghostId])) },
    {
      path: '/im/group/join/handle', authed: true, fields: { join_id: req(idKind(pick(w.pendingJoinId, ...w.ghostIds))), status: req(enumKind([1, 0, -1])) },
      ghosts: ghost([404], body(['join_id', ghostId], ['status', pick(1, 0, -1)])),
    },
    {
      path: '/im/group/leave', authed: true, fields: { group_id: req(groups) },
      ghosts: fc.oneof(ghost([404], body(['group_id', ghostId])), ghost([409], body(['group_id', pick(w.ownGroup)])), ghost([403], body(['group_id', pick(w.foreignGroup)]))),
    },
    {
      path: '/im/group/shot', authed: true, fields: { group_id: req(groups), user_id: req(users) },
      ghosts: fc.oneof(
        // Not the owner (whether the user is a member or not is not checked first).
        ghost([403, 404], body(['group_id', pick(w.joinedGroup, w.foreignGroup)], ['user_id', pick(u.friend, u.outsider, u.applicant)])),
        ghost([400, 403], body(['group_id', pick(w.ownGroup, w.joinedGroup, w.foreignGroup)], ['user_id', pick(u.me)])),
        ghost([404], body(['group_id', pick(w.ownGroup)], ['user_id', pick(u.outsider, u.applicant, ...w.ghostIds)]), body(['group_id', ghostId], ['user_id', pick(u.friend)])),
      ),
    },
    {
      path: '/im/chat/send/user', authed: true,
      fields: { to_uid: req(users), type: req(msgType), body: req(msgBody), client_msg_id: opt(clientMsgIdKind()) },
      ghosts: ghost([403], body(['to_uid', pick(u.requester, u.applicant, u.outsider, u.me, ...w.ghostIds)], ...sendText)),
    },
    {
      path: '/im/chat/send/group', authed: true,
      fields: { group_id: req(groups), type: req(msgType), body: req(msgBody), client_msg_id: opt(clientMsgIdKind()) },
      ghosts: ghost([403], body(['group_id', pick(w.foreignGroup, ...w.ghostIds)], ...sendText)),
    },
    {
      path: '/im/chat/withdraw/user', authed: true, fields: { message_id: req(messages) },
      ghosts: fc.oneof(ghost([403], body(['message_id', pick(w.theirUserMessage)])), ghost([404], body(['message_id', ghostId]))),
    },
    {
      path: '/im/chat/withdraw/group', authed: true, fields: { message_id: req(messages) },
      ghosts: fc.oneof(ghost([403], body(['message_id', pick(w.theirGroupMessage)])), ghost([404], body(['message_id', ghostId]))),
    },
    {
      path: '/im/chat/history', authed: true,
      fields: { ...targets, before_seq: opt(seqKind()), limit: opt(intRangeKind(1, 100)) },
      combos: targetCombos([['limit', pick(1, 30)]]),
      ghosts: fc.oneof(
        ghost([403], body(['group_id', pick(w.foreignGroup, ...w.ghostIds)])),
        ghost([403, 404], body(['conversation_id', pick(w.foreignConversation, ...w.ghostIds)])),
      ),
    },
    { path: '/im/conversation/list', authed: true, fields: {} },
    {
      path: '/im/chat/read', authed: true,
      fields: { ...targets, seq: req(seqKind()) },
      combos: targetCombos([['seq', pick(0, 1)]]),
      ghosts: fc.oneof(
        ghost([403], body(['group_id', pick(w.foreignGroup, ...w.ghostIds)], ['seq', pick(0, 1, 5)])),
        ghost([403, 404], body(['conversation_id', pick(w.foreignConversation, ...w.ghostIds)], ['seq', pick(0, 1)]), body(['to_uid', pick(u.outsider, u.applicant, ...w.ghostIds)], ['seq', pick(1)])),
      ),
    },
    {
      path: '/im/sync', authed: true,
      fields: {
        token: opt({ valid: fc.constant(''), invalidJson: fc.oneof(badSyncToken, nonScalarJunk, pick(5, 0)), invalidForm: badSyncToken }),
        cursors: opt({ valid: pick({}, { [w.myConversation]: 1 }), invalidJson: fc.oneof(badCursors, badCursors.map((c) => JSON.stringify(c)), pick('{', 'x', '')), invalidForm: fc.oneof(badCursors.map((c) => JSON.stringify(c)), pick('{', 'x', '')) }),
        event_seq: opt(seqKind()),
        limit: opt(intRangeKind(1, 5000)),
      },
    },
  ];
}
