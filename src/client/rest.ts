// Types only (erased at build): the REST calls are typed from the schemas the server parses with.
import type { deviceInput, previewsInput } from '../modules/devices/devices.schema.js';
import type { z } from 'zod';
import type { credentialsInput, loginInput } from '../modules/auth/auth.schema.js';
import type { friendDeleteInput, friendHandleInput, friendRequestInput } from '../modules/friends/friends.schema.js';
import type { locationInput, nearbyInput } from '../modules/geo/geo.schema.js';
import type { groupCreateInput, groupIdInput, groupMembersInput, joinHandleInput, joinListInput, joinRequestInput, kickInput, adminSetInput, muteInput, muteAllInput, transferInput, groupUpdateInput, inviteInput } from '../modules/groups/groups.schema.js';
import type { editInput, reactInput, sendGroupInput, sendUserInput, withdrawInput } from '../modules/messages/messages.schema.js';
import type { searchInput } from '../modules/search/search.schema.js';
import type { historyInput, readInput, receiptsInput, syncInput } from '../modules/sync/sync.schema.js';
import type { nicknameInput, realNameInput, userInfoInput } from '../modules/users/users.schema.js';

type In<S extends z.ZodType> = z.input<S>;
type None = Record<string, never>;

/** Every JSON route of /api/v1 and the body it takes. */
export interface Routes {
  '/register': In<typeof credentialsInput>;
  '/login': In<typeof loginInput>;
  '/logout': None;
  '/logout/all': None;
  '/user/info': In<typeof userInfoInput>;
  '/user/update/nickname': In<typeof nicknameInput>;
  '/user/update/realname': In<typeof realNameInput>;
  '/user/update/location': In<typeof locationInput>;
  '/geo/users': In<typeof nearbyInput>;
  '/im/friend/add/request': In<typeof friendRequestInput>;
  '/im/friend/add/reqs': None;
  '/im/friend/add/handle': In<typeof friendHandleInput>;
  '/im/friend/list': None;
  '/im/friend/del': In<typeof friendDeleteInput>;
  '/im/friend/online': { user_ids: number[] };
  '/im/friend/search': In<typeof searchInput>;
  '/im/group/create': In<typeof groupCreateInput>;
  '/im/group/my': None;
  '/im/group/info': In<typeof groupIdInput>;
  '/im/group/members': In<typeof groupMembersInput>;
  '/im/group/join/request': In<typeof joinRequestInput>;
  '/im/group/join/list': In<typeof joinListInput>;
  '/im/group/join/handle': In<typeof joinHandleInput>;
  '/im/group/leave': In<typeof groupIdInput>;
  '/im/group/shot': In<typeof kickInput>;
  '/im/group/search': In<typeof searchInput>;
  '/im/chat/send/user': In<typeof sendUserInput>;
  '/im/chat/send/group': In<typeof sendGroupInput>;
  '/im/chat/withdraw/user': In<typeof withdrawInput>;
  '/im/chat/withdraw/group': In<typeof withdrawInput>;
  '/im/chat/edit/user': In<typeof editInput>;
  '/im/chat/edit/group': In<typeof editInput>;
  '/im/chat/react': In<typeof reactInput>;
  '/im/chat/history': In<typeof historyInput>;
  '/im/group/admin/set': In<typeof adminSetInput>;
  '/im/group/mute': In<typeof muteInput>;
  '/im/group/mute/all': In<typeof muteAllInput>;
  '/im/group/transfer': In<typeof transferInput>;
  '/im/group/update': In<typeof groupUpdateInput>;
  '/im/group/invite': In<typeof inviteInput>;
  '/user/device/register': In<typeof deviceInput>;
  '/user/device/unregister': In<typeof deviceInput>;
  '/user/device/previews': In<typeof previewsInput>;
  '/im/group/dissolve': In<typeof groupIdInput>;
  '/im/chat/read': In<typeof readInput>;
  '/im/chat/receipts': In<typeof receiptsInput>;
  '/im/conversation/list': None;
  '/im/sync': In<typeof syncInput>;
}

/** A refusal: the envelope's code and message, with the HTTP status. */
export class ApiError extends Error {
  /** `reason`: the rule broken, a stable key (docs/errors.md); `message` is for people, in the asked language. */
  constructor(readonly status: number, readonly code: number, message: string, readonly reason?: string) {
    super(message);
  }
}

/**
 * The REST API (`{code, msg, data}` unwrapped: `data` on success, `ApiError` otherwise). Keeps the
 * token `/login` and `/register` answer; uploads take a `Blob` (browsers, Node 20).
 */
export class WeimApi {
  token: string | undefined;

  /** `lang`: the language of error messages (`zh`, `en`; sent as Accept-Language), read at each call. */
  constructor(readonly baseUrl: string, options: { token?: string; fetch?: typeof fetch; onToken?: (token: string) => void; lang?: () => string | undefined } = {}) {
    this.token = options.token;
    this.lang = options.lang;
    this.fetchImpl = options.fetch ?? ((...args) => globalThis.fetch(...args));
    this.onToken = options.onToken;
  }

  private readonly fetchImpl: typeof fetch;
  private readonly lang: (() => string | undefined) | undefined;
  /** Told of every new token: a signed-in call past half a token's life answers a fresh one (`Login-Token` header). */
  onToken: ((token: string) => void) | undefined;

  async call<P extends keyof Routes>(path: P, body: Routes[P] = {} as Routes[P]): Promise<any> {
    const data = await this.request(path, { 'Content-Type': 'application/json' }, JSON.stringify(body));
    if ((path === '/login' || path === '/register') && data?.t) this.setToken(data.t as string);
    return data;
  }

  /** `/im/chat/upload`: answers `{url, size, mime}`; `url` is the body of a message of that type. */
  upload(file: Blob, type: 1 | 2 | 3 | 6, name = 'upload'): Promise<{ url: string; size: number; mime: string }> {
    const form = new FormData();
    form.append('type', String(type));
    form.append('file', file, name);
    return this.request('/im/chat/upload', {}, form);
  }

  private setToken(token: string): void {
    this.token = token;
    this.onToken?.(token);
  }

  private async request(path: string, headers: Record<string, string>, body: string | FormData): Promise<any> {
    const res = await this.fetchImpl(`${this.baseUrl.replace(/\/$/, '')}/api/v1${path}`, {
      method: 'POST',
      headers: { ...headers, ...(this.token ? { 'Login-Token': this.token } : {}), ...(this.lang?.() ? { 'Accept-Language': this.lang()! } : {}) },
      body,
    });
    const fresh = res.headers.get('login-token');
    if (fresh && this.token && fresh !== this.token) this.setToken(fresh);
    const envelope = (await res.json().catch(() => ({ code: 1500, msg: `HTTP ${res.status}`, data: null }))) as { code: number; msg: string; reason?: string; data: unknown };
    if (envelope.code !== 0) throw new ApiError(res.status, envelope.code, envelope.msg, envelope.reason);
    return envelope.data;
  }
}
