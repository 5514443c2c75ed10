/** A parsed API response: HTTP status, envelope and headers. */
export interface ApiResponse<T = any> {
  status: number;
  code: number;
  msg: string;
  /** The rule an error broke (docs/errors.md). */
  reason?: string;
  data: T;
  headers: Headers;
}

export interface PostOptions {
  token?: string;
  /** Send as application/x-www-form-urlencoded (what weIm-go clients send) instead of JSON. */
  form?: boolean;
  headers?: Record<string, string>;
}

/** POSTs to an API route the way a client does and returns the envelope. */
export async function post<T = any>(api: string, path: string, body: Record<string, unknown> = {}, options: PostOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['Login-Token'] = options.token;
  let payload: string;
  if (options.form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString();
  } else {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const response = await fetch(`${api}${path}`, { method: 'POST', headers, body: payload });
  const envelope = (await response.json()) as { code: number; msg: string; reason?: string; data: T };
  return { status: response.status, ...envelope, headers: response.headers };
}

let counter = 0;

/** A unique valid username for this test process. */
export function uniqueUsername(prefix = 'user'): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`.slice(0, 20);
}

/** Registers a user and returns its token and public user. */
export async function registerUser(api: string, username = uniqueUsername(), password = 'secret123') {
  const response = await post<{ t: string; user: { id: number; username: string } }>(api, '/register', { username, password });
  if (response.code !== 0) throw new Error(`register ${username} failed: ${response.status} ${response.msg}`);
  return { token: response.data.t, user: response.data.user, username, password };
}

/** Two registered users who are friends (`a` given, or new). */
export async function makeFriends(api: string, existing?: Awaited<ReturnType<typeof registerUser>>) {
  const a = existing ?? (await registerUser(api));
  const b = await registerUser(api);
  await post(api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token });
  const accepted = await post(api, '/im/friend/add/handle', { f_uid: a.user.id, status: 1 }, { token: b.token });
  if (accepted.code !== 0) throw new Error(`friendship failed: ${accepted.msg}`);
  return { a, b };
}

/** Logs in again: a second session (device) of the same user. */
export async function login(api: string, username: string, password = 'secret123'): Promise<string> {
  const response = await post<{ t: string }>(api, '/login', { username, password });
  if (response.code !== 0) throw new Error(`login failed: ${response.msg}`);
  return response.data.t;
}

/** A file part of a multipart upload. */
export interface FilePart {
  data: Uint8Array;
  filename: string;
  /** What the client claims (weim ignores it). */
  type?: string;
}

/** POSTs multipart/form-data (fields and files in the given order) and returns the envelope. */
export async function postMultipart<T = any>(api: string, path: string, parts: Array<[string, string | FilePart]>, token?: string): Promise<ApiResponse<T>> {
  const form = new FormData();
  for (const [name, value] of parts) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([value.data], { type: value.type ?? 'application/octet-stream' }), value.filename);
  }
  const response = await fetch(`${api}${path}`, { method: 'POST', headers: token ? { 'Login-Token': token } : {}, body: form });
  const envelope = (await response.json()) as { code: number; msg: string; reason?: string; data: T };
  return { status: response.status, ...envelope, headers: response.headers };
}
