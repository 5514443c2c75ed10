import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { signPush } from '../../src/modules/push/index.js';
import { login, post, postMultipart, registerUser } from '../helpers/http.js';
import { png } from '../helpers/media-samples.js';
import type { TestNode } from '../helpers/node.js';
import { differences, snapshot, type Snapshot } from './state.js';

type User = Awaited<ReturnType<typeof registerUser>>;

/** The push app the suite's node knows (`WEIM_PUSH_APPS`). */
export const PUSH_APP = { key: 'fuzz', secret: `fuzz-${'s'.repeat(40)}` };

/**
 * Settings of the suite's node: limits high enough that no request of the suite is ever rate
 * limited (a 429 would be a refusal that tested nothing), and the push API on.
 */
export const FUZZ_NODE_ENV: Record<string, string> = {
  WEIM_AUTH_LOGIN_MAX_PER_USER: '100000000',
  WEIM_AUTH_LOGIN_MAX_PER_IP: '100000000',
  WEIM_AUTH_REGISTER_MAX_PER_IP: '100000000',
  WEIM_GROUPS_CREATE_MAX_PER_HOUR: '100000000',
  WEIM_MESSAGES_SEND_MAX_PER_10S: '100000000',
  WEIM_GEO_UPDATE_MAX_PER_MINUTE: '100000000',
  WEIM_UPLOADS_MAX_PER_USER: '100000000',
  WEIM_PUSH_MAX_PER_SECOND: '100000000',
  WEIM_GATEWAY_PING_MAX_PER_MINUTE: '100000',
  WEIM_GATEWAY_SYNC_MAX_PER_MINUTE: '100000',
  WEIM_GATEWAY_MAX_SOCKETS_PER_IP: '0',
  WEIM_GATEWAY_MAX_SOCKETS_PER_USER: '10000',
  WEIM_PUSH_APPS: `${PUSH_APP.key}:${PUSH_APP.secret}`,
  WEIM_PUSH_MAX_USERS: '20',
  // Small caps, so that "over the cap" costs little to send.
  WEIM_UPLOADS_PICTURE_MAX_BYTES: '4096',
  WEIM_UPLOADS_VOICE_MAX_BYTES: '4096',
  WEIM_UPLOADS_VIDEO_MAX_BYTES: '8192',
  WEIM_UPLOADS_FILE_MAX_BYTES: '4096',
  WEIM_UPLOADS_AVATAR_MAX_BYTES: '2048',
  WEIM_GATEWAY_MAX_BAD_FRAMES: '20',
};

/** Tokens a request must be refused with (401): forged, expired, revoked, or not a token at all. */
export type BadTokenName = 'expired' | 'wrong-secret' | 'alg-none' | 'wrong-issuer' | 'bad-subject' | 'no-jti' | 'revoked' | 'ended' | 'truncated' | 'tampered';

/**
 * Everything the suite's requests refer to, made through the API in beforeAll: the acting user
 * `me` and the people and things around them. Refused requests never change it, so it holds for
 * the whole run.
 */
export interface World {
  node: TestNode;
  me: User;
  /** Friend of me; member of my group; owns a group I am in. */
  friend: User;
  /** Asked me to be friends (pending). */
  requester: User;
  /** Asked to join my group (pending). */
  applicant: User;
  /** Friend of `friend` only; owns a group I am not in. */
  outsider: User;
  ownGroup: number;
  joinedGroup: number;
  foreignGroup: number;
  pendingRequestId: number;
  pendingJoinId: number;
  myUserMessage: number;
  theirUserMessage: number;
  myGroupMessage: number;
  theirGroupMessage: number;
  myConversation: number;
  groupConversation: number;
  foreignConversation: number;
  uploadUrl: string;
  badTokens: Record<BadTokenName, string>;
  /** A nonce the push app has used (a replay). */
  usedNonce: string;
  /** Ids no user, group, request or message has. */
  ghostIds: number[];
  /** The state refused requests must leave as it is; moved on when a run finds a change. */
  baseline: Snapshot;
}

const must = <T>(what: string, r: { code: number; msg: string; data: T }): T => {
  if (r.code !== 0) throw new Error(`fixture ${what} failed: ${r.code} ${r.msg}`);
  return r.data;
};

/** Builds the world on a freshly started node (see FUZZ_NODE_ENV). */
export async function buildWorld(node: TestNode): Promise<World> {
  const api = node.api;
  const [me, friend, requester, applicant, outsider] = (await Promise.all([0, 1, 2, 3, 4].map(() => registerUser(api)))) as [User, User, User, User, User];
  const as = (u: User) => ({ token: u.token });
  const befriend = async (a: User, b: User) => {
    must('friend request', await post(api, '/im/friend/add/request', { f_uid: b.user.id }, as(a)));
    must('friend accept', await post(api, '/im/friend/add/handle', { f_uid: a.user.id, status: 1 }, as(b)));
  };
  await befriend(me, friend);
  await befriend(outsider, friend);
  const pendingRequestId = must('pending request', await post<{ request_id: number }>(api, '/im/friend/add/request', { f_uid: me.user.id, reason: 'hi' }, as(requester))).request_id;

  const group = async (owner: User, name: string) => must('group', await post<{ group: { id: number } }>(api, '/im/group/create', { name }, as(owner))).group.id;
  const join = async (u: User, groupId: number, owner: User) => {
    const { join_id } = must('join', await post<{ join_id: number }>(api, '/im/group/join/request', { group_id: groupId }, as(u)));
    must('join accept', await post(api, '/im/group/join/handle', { join_id, status: 1 }, as(owner)));
  };
  const ownGroup = await group(me, 'mine');
  const joinedGroup = await group(friend, 'theirs');
  const foreignGroup = await group(outsider, 'foreign');
  await join(friend, ownGroup, me);
  await join(me, joinedGroup, friend);
  const pendingJoinId = must('pending join', await post<{ join_id: number }>(api, '/im/group/join/request', { group_id: ownGroup }, as(applicant))).join_id;

  type Sent = { id: number; conversation_id: number };
  const send = async (u: User, path: string, body: Record<string, unknown>) => must('send', await post<Sent>(api, path, { type: 0, ...body }, as(u)));
  const mine = await send(me, '/im/chat/send/user', { to_uid: friend.user.id, body: 'hello' });
  const theirs = await send(friend, '/im/chat/send/user', { to_uid: me.user.id, body: 'hi back' });
  const myGroup = await send(me, '/im/chat/send/group', { group_id: ownGroup, body: 'all' });
  const theirGroup = await send(friend, '/im/chat/send/group', { group_id: ownGroup, body: 'yes' });
  const foreign = await send(outsider, '/im/chat/send/user', { to_uid: friend.user.id, body: 'private' });
  const upload = must('upload', await postMultipart<{ url: string }>(api, '/im/chat/upload', [['type', '1'], ['file', { data: png(), filename: 'a.png' }]], me.token));

  const revoked = await login(api, me.username);
  must('logout', await post(api, '/logout', {}, { token: revoked }));
  const ended = await registerUser(api);
  must('logout all', await post(api, '/logout/all', {}, { token: ended.token }));

  const secret = node.config.auth.jwt_secret;
  const claims = { jti: 'fuzz-jti', iam: Date.now() };
  const sub = String(me.user.id);
  const valid = me.token;
  const [head, payload, signature] = valid.split('.') as [string, string, string];
  const badTokens: Record<BadTokenName, string> = {
    expired: jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10, iat: Math.floor(Date.now() / 1000) - 100 }, secret, { issuer: 'weim', subject: sub }),
    'wrong-secret': jwt.sign(claims, `${secret}x`, { issuer: 'weim', subject: sub, expiresIn: 3600 }),
    'alg-none': jwt.sign(claims, '', { algorithm: 'none', issuer: 'weim', subject: sub, expiresIn: 3600 } as jwt.SignOptions),
    'wrong-issuer': jwt.sign(claims, secret, { issuer: 'weim-go', subject: sub, expiresIn: 3600 }),
    'bad-subject': jwt.sign(claims, secret, { issuer: 'weim', subject: '-1', expiresIn: 3600 }),
    'no-jti': jwt.sign({ iam: Date.now() }, secret, { issuer: 'weim', subject: sub, expiresIn: 3600 }),
    revoked,
    ended: ended.token,
    truncated: valid.slice(0, -3),
    tampered: `${head}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: String(friend.user.id) })).toString('base64url')}.${signature}`,
  };

  const usedNonce = randomBytes(16).toString('hex');
  const online = await pushRequest(node, '/push/online', JSON.stringify({ user_ids: [me.user.id] }), { nonce: usedNonce });
  if (online.status !== 200) throw new Error(`fixture push failed: ${online.status} ${online.text}`);

  const world: Omit<World, 'baseline'> = {
    node, me, friend, requester, applicant, outsider, ownGroup, joinedGroup, foreignGroup, pendingRequestId, pendingJoinId,
    myUserMessage: mine.id, theirUserMessage: theirs.id, myGroupMessage: myGroup.id, theirGroupMessage: theirGroup.id,
    myConversation: mine.conversation_id, groupConversation: myGroup.conversation_id, foreignConversation: foreign.conversation_id,
    uploadUrl: upload.url, badTokens, usedNonce, ghostIds: [2 ** 31, 2 ** 31 - 1, 2 ** 53 - 1, 999_999_999],
  };
  return { ...world, baseline: await snapshot(node.dbh, node.config.data_dir) };
}

/**
 * Compares the state with the baseline; throws naming what changed (and takes the new state as
 * the baseline, so the runs after a finding are judged on their own).
 */
export async function assertUnchanged(world: World): Promise<void> {
  for (let i = 0; ; i++) {
    const now = await snapshot(world.node.dbh, world.node.config.data_dir);
    const diff = differences(world.baseline, now);
    if (diff.length === 0) return;
    // A refused upload's file is deleted once the answer is out: give it a moment.
    if (diff.some((d) => d.startsWith('table')) || i >= 20) {
      world.baseline = now;
      throw new Error(`a refused request changed stored state: ${diff.join('; ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PushSigning {
  app?: string;
  secret?: string;
  timestamp?: string;
  nonce?: string;
  /** Sign this text instead of the body sent. */
  signedBody?: string;
  omit?: Array<'app' | 'timestamp' | 'nonce' | 'signature'>;
  signature?: string;
  contentType?: string;
}

/** A push API request signed as docs/api.md says (or broken as `signing` says). */
export async function pushRequest(node: TestNode, path: string, body: string, signing: PushSigning = {}) {
  const headers = pushHeaders(node, path, body, signing);
  const response = await fetch(`${node.api}${path}`, { method: 'POST', headers, body });
  return { status: response.status, text: await response.text() };
}

export function pushHeaders(node: TestNode, path: string, body: string, signing: PushSigning = {}): Record<string, string> {
  const timestamp = signing.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = signing.nonce ?? randomBytes(16).toString('hex');
  const fullPath = new URL(`${node.api}${path}`).pathname;
  const signature = signing.signature ?? signPush(signing.secret ?? PUSH_APP.secret, { timestamp, nonce, method: 'POST', path: fullPath, body: signing.signedBody ?? body });
  const headers: Record<string, string> = {
    'Content-Type': signing.contentType ?? 'application/json',
    'X-Weim-App': signing.app ?? PUSH_APP.key,
    'X-Weim-Timestamp': timestamp,
    'X-Weim-Nonce': nonce,
    'X-Weim-Signature': signature,
  };
  const names = { app: 'X-Weim-App', timestamp: 'X-Weim-Timestamp', nonce: 'X-Weim-Nonce', signature: 'X-Weim-Signature' } as const;
  for (const o of signing.omit ?? []) delete headers[names[o]];
  return headers;
}
