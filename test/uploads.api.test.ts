import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testDialects } from './helpers/database.js';
import { post, postMultipart, registerUser } from './helpers/http.js';
import * as samples from './helpers/media-samples.js';
import { type ChildNode, startChildNode } from './helpers/child-node.js';
import { type FakeQiniu, startFakeQiniu } from './helpers/fake-qiniu.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { streamUpload } from './helpers/upload-stream.js';

const KB = 1024;
const DEFAULT_AVATAR = 'https://cdn.example.test/avatar/default.png';

/** Every accepted format: the type it is sent as, the sample and the content type weim decides. */
const ACCEPTED: Array<[string, number, () => Buffer, string]> = [
  ['jpeg', 1, samples.jpeg, 'image/jpeg'],
  ['png', 1, () => samples.png(), 'image/png'],
  ['gif', 1, samples.gif, 'image/gif'],
  ['webp', 1, samples.webp, 'image/webp'],
  ['amr', 2, samples.amr, 'audio/amr'],
  ['mp3', 2, samples.mp3, 'audio/mpeg'],
  ['m4a', 2, () => samples.isoMedia('M4A '), 'audio/mp4'],
  ['aac', 2, samples.aac, 'audio/aac'],
  ['wav', 2, samples.wav, 'audio/wav'],
  ['ogg/opus', 2, samples.opus, 'audio/ogg; codecs=opus'],
  ['mp4', 3, () => samples.isoMedia('isom'), 'video/mp4'],
  ['mov', 3, () => samples.isoMedia('qt  '), 'video/quicktime'],
  ['webm', 3, samples.webm, 'video/webm'],
  ['3gp', 3, () => samples.isoMedia('3gp4'), 'video/3gpp'],
  ['any file (pdf-less text)', 6, () => Buffer.from('just some notes\n'), 'application/octet-stream'],
];

/** A raw GET (fetch would normalise `..` segments away before sending them). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(testDialects())('uploads API on %s', (dialect) => {
  let t: TestNode;
  const blobFiles = () => {
    const root = join(t.config.data_dir, 'blobs');
    if (!existsSync(root)) return [];
    return readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  };
  beforeAll(async () => {
    t = await startTestNode(dialect, {
      WEIM_UPLOADS_PICTURE_MAX_BYTES: String(64 * KB),
      WEIM_UPLOADS_AVATAR_MAX_BYTES: String(32 * KB),
      WEIM_UPLOADS_DEFAULT_AVATAR: DEFAULT_AVATAR,
      WEIM_UPLOADS_MAX_PER_USER: '20',
      WEIM_AUTH_REGISTER_MAX_PER_IP: '1000',
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(ACCEPTED)('accepts %s as type %i; the download is byte-identical, typed and cacheable', async (_name, type, make, mime) => {
    const { token, user } = await registerUser(t.api);
    const data = make();
    const res = await postMultipart(t.api, '/im/chat/upload', [['type', String(type)], ['file', { data, filename: 'sample.dat', type: 'text/plain' }]], token);
    expect([res.status, res.code, res.msg]).toEqual([200, 0, 'ok']);
    expect(res.data).toEqual({ url: expect.stringMatching(new RegExp(`^/files/chat/${user.id}/[A-Za-z0-9_-]{22}\\.[a-z0-9]+$`)), size: data.length, mime });
    const download = await fetch(`${t.url}${res.data.url}`);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(data)).toBe(true);
    expect(download.headers.get('content-type')).toBe(mime);
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(download.headers.get('cache-control')).toMatch(/max-age=31536000.*immutable/);
    expect(download.headers.get('accept-ranges')).toBe('bytes');
    expect(download.headers.get('content-disposition')).toEqual(type === 6 ? expect.stringMatching(/^attachment; filename=/) : null);
    const row = await t.dbh.db.selectFrom('uploads').selectAll().where('object_key', '=', res.data.url.slice('/files/'.length)).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ user_id: user.id, purpose: 'chat', type, store: 'local', mime });
    expect(Number(row.size)).toBe(data.length);
    expect(Number(row.created_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('takes the type field after the file too', async () => {
    const { token } = await registerUser(t.api);
    const res = await postMultipart(t.api, '/im/chat/upload', [['file', { data: samples.wav(), filename: 'a.wav' }], ['type', '2']], token);
    expect([res.code, res.data.mime]).toEqual([0, 'audio/wav']);
  });

  it('refuses a renamed executable and a PNG claiming to be MP4, keeping nothing', async () => {
    const { token } = await registerUser(t.api);
    const before = blobFiles().length;
    const cases: Array<Array<[string, string | { data: Buffer; filename: string; type: string }]>> = [
      [['type', '1'], ['file', { data: samples.elf(), filename: 'holiday.jpg', type: 'image/jpeg' }]],
      [['type', '3'], ['file', { data: samples.png(), filename: 'clip.mp4', type: 'video/mp4' }]],
      [['file', { data: samples.png(), filename: 'clip.mp4', type: 'video/mp4' }], ['type', '3']],
      [['type', '2'], ['file', { data: samples.isoMedia('isom'), filename: 'voice.amr', type: 'audio/amr' }]],
    ];
    for (const parts of cases) {
      const res = await postMultipart(t.api, '/im/chat/upload', parts, token);
      expect([res.status, res.code], JSON.stringify(parts.map((p) => p[0]))).toEqual([400, 1000]);
      expect(res.reason).toBe('file_type_mismatch');
    }
    // A file refused after it was stored (type after the file) is deleted once the answer is out.
    await vi.waitFor(() => expect(blobFiles().length).toBe(before));
    // As "any file" an executable is fine, and it is served as a download only.
    const asFile = await postMultipart(t.api, '/im/chat/upload', [['type', '6'], ['file', { data: samples.elf(), filename: 'tool' }]], token);
    expect([asFile.code, asFile.data.mime]).toEqual([0, 'application/x-elf']);
    const download = await fetch(`${t.url}${asFile.data.url}`);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename="[A-Za-z0-9_-]+\.elf"$/);
  });

  it('refuses bad requests: no file, bad type, empty file, not multipart, no token', async () => {
    const { token } = await registerUser(t.api);
    const png = { data: samples.png(), filename: 'a.png' };
    for (const parts of [[['type', '1']], [['type', '4'], ['file', png]], [['file', png]], [['type', '1'], ['file', { data: Buffer.alloc(0), filename: 'e.png' }]], [['type', '1'], ['other', png]]] as Array<Array<[string, string | typeof png]>>) {
      const res = await postMultipart(t.api, '/im/chat/upload', parts, token);
      expect([res.status, res.code], JSON.stringify(parts)).toEqual([400, 1000]);
    }
    const json = await post(t.api, '/im/chat/upload', { type: 1, file: 'x' }, { token });
    expect([json.status, json.code]).toEqual([400, 1000]);
    const anonymous = await postMultipart(t.api, '/im/chat/upload', [['type', '1'], ['file', png]]);
    expect([anonymous.status, anonymous.code]).toEqual([401, 1001]);
    const garbled = await fetch(`${t.api}/im/chat/upload`, {
      method: 'POST',
      headers: { 'Login-Token': token, 'Content-Type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="type"\r\n\r\n1\r\n--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
    });
    expect([garbled.status, ((await garbled.json()) as { code: number }).code]).toEqual([400, 1000]);
  });

  it('refuses an upload over its type cap with 413 / 1004 and keeps nothing', async () => {
    const { token } = await registerUser(t.api);
    const before = blobFiles().length;
    const big = samples.png(2, 2, 80 * KB);
    const res = await postMultipart(t.api, '/im/chat/upload', [['type', '1'], ['file', { data: big, filename: 'big.png' }]], token);
    expect([res.status, res.code, res.msg]).toEqual([413, 1004, 'payload too large']);
    // Type after the file: the cap is only known at the end, and the stored file is removed again.
    const late = await postMultipart(t.api, '/im/chat/upload', [['file', { data: big, filename: 'big.png' }], ['type', '1']], token);
    expect([late.status, late.code, late.msg]).toEqual([413, 1004, 'payload too large']);
    // The same bytes are fine as "any file" (20 MB cap).
    expect((await postMultipart(t.api, '/im/chat/upload', [['type', '6'], ['file', { data: big, filename: 'big.png' }]], token)).code).toBe(0);
    await vi.waitFor(() => expect(blobFiles().length).toBe(before + 1));
    expect(readdirSync(join(t.config.data_dir, 'blobs', '.tmp'))).toEqual([]);
  });

  it('refuses a declared Content-Length past the route limit before reading the body', async () => {
    const { token } = await registerUser(t.api);
    const res = await streamUpload(`${t.api}/user/update/avatar`, { token, head: samples.png(), fileBytes: 50 * 1024 * 1024, withLength: true });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).code).toBe(1004);
    expect(res.sentBytes).toBeLessThan(10 * 1024 * 1024);
  });

  it('answers range requests with 206 and exactly those bytes', async () => {
    const { token } = await registerUser(t.api);
    const data = Buffer.concat([samples.isoMedia('isom'), Buffer.from(Array.from({ length: 4000 }, (_, i) => i % 251))]);
    const { data: uploaded } = await postMultipart(t.api, '/im/chat/upload', [['type', '3'], ['file', { data, filename: 'v.mp4' }]], token);
    const part = await fetch(`${t.url}${uploaded.url}`, { headers: { Range: 'bytes=100-1099' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-1099/${data.length}`);
    expect(part.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 1100))).toBe(true);
    const tail = await fetch(`${t.url}${uploaded.url}`, { headers: { Range: 'bytes=-10' } });
    expect([tail.status, Buffer.from(await tail.arrayBuffer()).equals(data.subarray(-10))]).toEqual([206, true]);
    const outside = await fetch(`${t.url}${uploaded.url}`, { headers: { Range: `bytes=${data.length + 10}-` } });
    expect(outside.status).toBe(416);
  });

  it('never serves a path outside the store, nor an unrecorded key', async () => {
    const { token, user } = await registerUser(t.api);
    const { data: uploaded } = await postMultipart(t.api, '/im/chat/upload', [['type', '1'], ['file', { data: samples.gif(), filename: 'g.gif' }]], token);
    const key: string = uploaded.url.slice('/files/'.length);
    const attempts = [
      '/files/../../etc/passwd',
      '/files/../../../../../../etc/passwd',
      '/files/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
      '/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      `/files/chat/${user.id}/..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd`,
      '/files//etc/passwd',
      '/files/%2Fetc%2Fpasswd',
      '/files/.tmp/anything',
      `/files/chat/${user.id}/AAAAAAAAAAAAAAAAAAAAAA.gif`,
      `/files/${key.toUpperCase()}`,
      `/files/${key}/../../../weim.sqlite`,
    ];
    for (const path of attempts) {
      const res = await rawGet(t.url, path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toMatch(/root:|SQLite/);
    }
    expect((await rawGet(t.url, `/files/${key}`)).status).toBe(200);
  });

  it('sets the avatar (images up to the avatar cap only); new users get the default avatar', async () => {
    const { token, user } = await registerUser(t.api);
    const fresh = await post(t.api, '/user/info', {}, { token });
    expect(fresh.data.avatar).toBe(DEFAULT_AVATAR);
    const data = samples.png(4, 4);
    const res = await postMultipart(t.api, '/user/update/avatar', [['avatar', { data, filename: 'me.png' }]], token);
    expect(res.code).toBe(0);
    expect(res.data.user).toMatchObject({ id: user.id, avatar: expect.stringMatching(new RegExp(`^/files/avatar/${user.id}/[A-Za-z0-9_-]+\\.png$`)) });
    expect((await post(t.api, '/user/info', {}, { token })).data.avatar).toBe(res.data.user.avatar);
    expect(Buffer.from(await (await fetch(`${t.url}${res.data.user.avatar}`)).arrayBuffer()).equals(data)).toBe(true);
    const notImage = await postMultipart(t.api, '/user/update/avatar', [['avatar', { data: samples.wav(), filename: 'me.png', type: 'image/png' }]], token);
    expect([notImage.status, notImage.code]).toEqual([400, 1000]);
    const tooBig = await postMultipart(t.api, '/user/update/avatar', [['avatar', { data: samples.png(2, 2, 40 * KB), filename: 'me.png' }]], token);
    expect([tooBig.status, tooBig.code]).toEqual([413, 1004]);
    const wrongField = await postMultipart(t.api, '/user/update/avatar', [['file', { data, filename: 'me.png' }]], token);
    expect([wrongField.status, wrongField.code]).toEqual([400, 1000]);
    expect((await post(t.api, '/user/info', {}, { token })).data.avatar).toBe(res.data.user.avatar);
  });

  it('rate-limits uploads per user with Retry-After', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    const part: [string, { data: Buffer; filename: string }] = ['file', { data: samples.gif(), filename: 'g.gif' }];
    for (let i = 0; i < 20; i++) expect((await postMultipart(t.api, '/im/chat/upload', [['type', '1'], part], a.token)).code).toBe(0);
    const limited = await postMultipart(t.api, '/im/chat/upload', [['type', '1'], part], a.token);
    expect([limited.status, limited.code]).toEqual([429, 1005]);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await postMultipart(t.api, '/im/chat/upload', [['type', '1'], part], b.token)).code).toBe(0);
  });
});

describe('a 200 MB upload against a node in its own process', () => {
  let node: ChildNode;
  beforeAll(async () => {
    node = await startChildNode({ WEIM_LOG_LEVEL: 'silent' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('is refused past the video cap (100 MB) with 413 / 1004 while the server memory stays flat', async () => {
    const { token } = await registerUser(node.api);
    await postMultipart(node.api, '/im/chat/upload', [['type', '1'], ['file', { data: samples.png(), filename: 'warm.png' }]], token);
    const before = node.rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, node.rss())), 10);
    const total = 200 * 1024 * 1024;
    // Chunked, no Content-Length: nothing can refuse it early, only the cap while streaming.
    let res;
    try {
      res = await streamUpload(`${node.api}/im/chat/upload`, { token, fields: { type: '3' }, head: samples.isoMedia('isom'), fileBytes: total });
    } finally {
      clearInterval(sampler);
    }
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).code).toBe(1004);
    expect(res.sentBytes).toBeLessThan(total);
    // The server read about 100 MB of it before refusing: holding that would show here (measured: ~35 MB of churn).
    expect(peak - before, `RSS ${before >> 20} MB → peak ${peak >> 20} MB`).toBeLessThan(64 * 1024 * 1024);
    expect(readdirSync(join(node.dataDir, 'blobs', '.tmp'))).toEqual([]);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });
});

describe('uploads with uploads.store = qiniu (local fake endpoint)', () => {
  let fake: FakeQiniu;
  let t: TestNode;
  beforeAll(async () => {
    fake = await startFakeQiniu({ accessKey: 'node-ak', secretKey: 'node-sk', bucket: 'weim', private: true });
    t = await startTestNode('sqlite', {
      WEIM_UPLOADS_STORE: 'qiniu',
      WEIM_QINIU_ACCESS_KEY: 'node-ak',
      WEIM_QINIU_SECRET_KEY: 'node-sk',
      WEIM_QINIU_BUCKET: 'weim',
      WEIM_QINIU_DOMAIN: fake.url,
      WEIM_QINIU_UPLOAD_URL: fake.url,
      WEIM_QINIU_PRIVATE: 'true',
    });
  });
  afterAll(async () => {
    await t?.stop();
    await fake?.close();
  });

  it('stores chat files in the bucket under chat/<uid>/<random>.<ext> and answers a signed URL', async () => {
    const { token, user } = await registerUser(t.api);
    const data = samples.webm();
    const res = await postMultipart(t.api, '/im/chat/upload', [['type', '3'], ['file', { data, filename: 'v.webm' }]], token);
    expect(res.code).toBe(0);
    expect(res.data.url).toMatch(new RegExp(`^${fake.url}/chat/${user.id}/[A-Za-z0-9_-]{22}\\.webm\\?e=\\d+&token=node-ak:`));
    expect(Buffer.from(await (await fetch(res.data.url)).arrayBuffer()).equals(data)).toBe(true);
    const row = await t.dbh.db.selectFrom('uploads').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect([row.store, row.mime, fake.objects.get(row.object_key)?.mime]).toEqual(['qiniu', 'video/webm', 'video/webm']);
    // No local file route in this mode.
    expect((await fetch(`${t.url}/files/${row.object_key}`)).status).toBe(404);
  });
});
