import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QiniuBlobStore } from '../src/storage/blob-store.qiniu.js';
import { testDialects } from './helpers/database.js';
import { type FakeQiniu, startFakeQiniu } from './helpers/fake-qiniu.js';
import { makeFriends, post, postMultipart, registerUser } from './helpers/http.js';
import * as samples from './helpers/media-samples.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { socketPool } from './helpers/ws.js';

/**
 * Picture, voice, video and file messages (types 1, 2, 3, 6) carry the URL of an upload, exactly
 * as /im/chat/upload answered it, of the message's kind (files: any chat upload), or a URL on an
 * allow-listed origin (`messages.media_origins`). Everything else is 400 / 1000 and stores nothing.
 */

type User = Awaited<ReturnType<typeof registerUser>>;

const LIMITS = { WEIM_MESSAGES_SEND_MAX_PER_10S: '100000', WEIM_UPLOADS_MAX_PER_USER: '10000' };
const PICTURE = /^body must be the URL of a picture uploaded with \/im\/chat\/upload$/;

async function upload(t: TestNode, token: string, type: number, data: Buffer): Promise<string> {
  const res = await postMultipart(t.api, '/im/chat/upload', [['type', String(type)], ['file', { data, filename: 'sample' }]], token);
  if (res.code !== 0) throw new Error(`upload failed: ${res.msg}`);
  return res.data.url as string;
}

async function messageCount(t: TestNode): Promise<number> {
  const row = await t.dbh.db.selectFrom('messages').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

async function storedBody(t: TestNode, id: number): Promise<string> {
  return (await t.dbh.db.selectFrom('messages').select('body').where('id', '=', id).executeTakeFirstOrThrow()).body;
}

const sendUser = (t: TestNode, from: User, to: User, type: number, body: string) =>
  post(t.api, '/im/chat/send/user', { to_uid: to.user.id, type, body }, { token: from.token });

/** Each body, sent as `type`, is 400 / 1000 with a message matching `msg`; nothing is stored. */
async function expectRefused(t: TestNode, from: User, to: User, type: number, bodies: string[], msg: RegExp): Promise<void> {
  const before = await messageCount(t);
  for (const body of bodies) {
    const res = await sendUser(t, from, to, type, body);
    expect([res.status, res.code, res.msg], JSON.stringify(body)).toEqual([400, 1000, expect.stringMatching(msg)]);
  }
  expect(await messageCount(t)).toBe(before);
}

/** Each body is accepted as `type`; the stored row carries it unchanged. */
async function expectAccepted(t: TestNode, from: User, to: User, type: number, bodies: string[]): Promise<void> {
  for (const body of bodies) {
    const res = await sendUser(t, from, to, type, body);
    expect([res.status, res.code, res.msg], JSON.stringify(body)).toEqual([200, 0, 'ok']);
    expect(await storedBody(t, res.data.id)).toBe(body);
  }
}

describe.each(testDialects())('media message bodies, local store, on %s', (dialect) => {
  let t: TestNode;
  const pool = socketPool(() => t.url);
  beforeAll(async () => {
    t = await startTestNode(dialect, LIMITS);
  });
  afterAll(async () => {
    pool.terminateAll();
    await t?.stop();
  });

  it('refuses a picture body that is not exactly the URL of a recorded upload, storing nothing', async () => {
    const { a, b } = await makeFriends(t.api);
    const url = await upload(t, a.token, 1, samples.png());
    expect(url).toMatch(new RegExp(`^/files/chat/${a.user.id}/[A-Za-z0-9_-]{22}\\.png$`));
    const name = url.split('/').at(-1)!;
    const uid = a.user.id;
    await expectRefused(t, a, b, 1, [
      '/files/../weim.sqlite',
      '/files/../../weim.sqlite',
      `/files/chat/${uid}/AAAAAAAAAAAAAAAAAAAAAA.png`,
      `${url}/../../x`,
      `${url}/..`,
      `${url}?x`,
      `${url}?`,
      `${url}#x`,
      `${url}#`,
      url.replace('/files/', '/files//'),
      url.replace('/files/', '/files/./'),
      url.replace('/files/', '/files/%2e/'),
      `/files/chat/${uid}/../${uid}/${name}`,
      `/files/chat/${uid}%2F${name}`,
      url.replace('/chat/', '/%63hat/'),
      url.replace('.png', '%2epng'),
      `/files/chat/${uid}/..%2F..%2F..%2Fweim.sqlite`,
      `${t.url}${url}`,
      `//${new URL(t.url).host}${url}`,
      ` ${url}`,
      `${url} `,
      `${url}\n`,
      url.toUpperCase(),
      '/files/chat',
      '',
      'not a url',
      'https://media.example.com/pics/cat.png',
    ], PICTURE);
  });

  it('refuses an upload of another kind (wrong kind), and avatars; a file message takes any chat upload', async () => {
    const { a, b } = await makeFriends(t.api);
    const picture = await upload(t, a.token, 1, samples.png());
    const voice = await upload(t, a.token, 2, samples.wav());
    const video = await upload(t, a.token, 3, samples.webm());
    const file = await upload(t, a.token, 6, Buffer.from('minutes of the meeting\n'));
    const pngAsFile = await upload(t, a.token, 6, samples.png());
    const avatar = (await postMultipart(t.api, '/user/update/avatar', [['avatar', { data: samples.png(3, 3), filename: 'me.png' }]], a.token)).data.user.avatar as string;
    expect(avatar).toMatch(/^\/files\/avatar\//);
    const wrong = (what: string, is: string) => new RegExp(`^body must be the URL of ${what} uploaded with /im/chat/upload \\(this upload is ${is}\\)$`.replace(' uploaded with /im/chat/upload', ''));
    await expectRefused(t, a, b, 2, [picture], wrong('a voice recording', 'a picture'));
    await expectRefused(t, a, b, 3, [picture], wrong('a video', 'a picture'));
    await expectRefused(t, a, b, 1, [voice], wrong('a picture', 'a voice recording'));
    await expectRefused(t, a, b, 2, [video], wrong('a voice recording', 'a video'));
    await expectRefused(t, a, b, 1, [file], wrong('a picture', 'a file'));
    // Uploaded as a file, a PNG stays a file: its URL serves it as a download, not a picture.
    await expectRefused(t, a, b, 1, [pngAsFile], wrong('a picture', 'a file'));
    await expectRefused(t, a, b, 1, [avatar], PICTURE);
    await expectRefused(t, a, b, 6, [avatar], /^body must be the URL of a file uploaded with \/im\/chat\/upload$/);
    await expectAccepted(t, a, b, 6, [file, pngAsFile, picture, voice, video]);
  });

  it('accepts the URL of an upload of its kind: stored and pushed exactly as uploaded', async () => {
    const { a, b } = await makeFriends(t.api);
    const b1 = await pool.socket(b.token);
    const sends: Array<[number, string]> = [
      [1, await upload(t, a.token, 1, samples.png())],
      [2, await upload(t, a.token, 2, samples.wav())],
      [3, await upload(t, a.token, 3, samples.webm())],
      [6, await upload(t, a.token, 6, samples.elf())],
    ];
    for (const [type, url] of sends) {
      const res = await sendUser(t, a, b, type, url);
      expect([res.status, res.code], url).toEqual([200, 0]);
      expect(await storedBody(t, res.data.id)).toBe(url);
      expect(await b1.next((f) => f.Cmd === 6 && f.Id === res.data.id)).toMatchObject({ Type: type, Body: url });
    }
  });

  it("accepts another user's upload: upload URLs are shared by sending them", async () => {
    const { a, b } = await makeFriends(t.api);
    const outsider = await registerUser(t.api);
    const theirs = await upload(t, outsider.token, 1, samples.gif());
    await expectAccepted(t, a, b, 1, [theirs]);
    const received = await upload(t, b.token, 3, samples.webm());
    await expectAccepted(t, a, b, 3, [received]);
  });

  it('group sends follow the same rule', async () => {
    const owner = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'media' }, { token: owner.token })).data.group;
    const url = await upload(t, owner.token, 1, samples.jpeg());
    const send = (type: number, body: string) => post(t.api, '/im/chat/send/group', { group_id: group.id, type, body }, { token: owner.token });
    const before = await messageCount(t);
    for (const [type, body] of [[1, '/files/../weim.sqlite'], [1, `${url}/../../x`], [2, url], [3, `/files/chat/${owner.user.id}/AAAAAAAAAAAAAAAAAAAAAA.mp4`]] as const) {
      const res = await send(type, body);
      expect([res.status, res.code, res.msg], body).toEqual([400, 1000, expect.stringMatching(/^body must be the URL of /)]);
    }
    expect(await messageCount(t)).toBe(before);
    const ok = await send(1, url);
    expect(ok.code).toBe(0);
    expect(await storedBody(t, ok.data.id)).toBe(url);
  });

  it('socket sends (Cmd 17) follow the same rule: Cmd 2 for a refused body, nothing stored', async () => {
    const { a, b } = await makeFriends(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'sock' }, { token: a.token })).data.group;
    const url = await upload(t, a.token, 1, samples.png());
    const a1 = await pool.socket(a.token);
    const before = await messageCount(t);
    const refused: Array<[number, number, number, string]> = [
      [0, b.user.id, 1, '/files/../weim.sqlite'],
      [0, b.user.id, 1, `${url}/../../x`],
      [0, b.user.id, 1, `${url}?x`],
      [0, b.user.id, 2, url],
      [0, b.user.id, 6, `/files/chat/${a.user.id}/AAAAAAAAAAAAAAAAAAAAAA.bin`],
      [1, group.id, 1, url.replace('/files/', '/files//')],
    ];
    for (const [i, [ope, toId, type, body]] of refused.entries()) {
      a1.send({ Cmd: 17, ToId: toId, Ope: ope, Type: type, Body: body, ClientMsgId: `bad-${i}` });
      const fail = await a1.next((f) => f.ClientMsgId === `bad-${i}`);
      expect(fail, body).toMatchObject({ Cmd: 2, Body: expect.stringMatching(/^body must be the URL of /) });
    }
    expect(await messageCount(t)).toBe(before);
    for (const [ope, toId] of [[0, b.user.id], [1, group.id]]) {
      a1.send({ Cmd: 17, ToId: toId, Ope: ope, Type: 1, Body: url, ClientMsgId: `ok-${ope}` });
      const ack = await a1.next((f) => f.ClientMsgId === `ok-${ope}`);
      expect(ack.Cmd).toBe(18);
      expect(await storedBody(t, ack.Id!)).toBe(url);
    }
  });

  it('text stays text: a path in a text message is stored as written', async () => {
    const { a, b } = await makeFriends(t.api);
    await expectAccepted(t, a, b, 0, ['/files/../weim.sqlite']);
  });
});

describe.each(testDialects())('media message bodies with messages.media_origins, on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect, { ...LIMITS, WEIM_MESSAGES_MEDIA_ORIGINS: 'https://media.example.com, http://127.0.0.1:8081' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('accepts normalised URLs on a listed origin, any media type; own uploads are still checked', async () => {
    const { a, b } = await makeFriends(t.api);
    await expectAccepted(t, a, b, 1, ['https://media.example.com/pics/cat.png', 'https://media.example.com/pics/cat.png?w=200&sig=ab%2Fc']);
    await expectAccepted(t, a, b, 2, ['https://media.example.com/v/hello.amr']);
    await expectAccepted(t, a, b, 6, ['http://127.0.0.1:8081/files/report.pdf']);
    await expectAccepted(t, a, b, 1, [await upload(t, a.token, 1, samples.png())]);
    const listed = /^body must be the URL of a picture uploaded with \/im\/chat\/upload or a URL on an allowed media origin$/;
    await expectRefused(t, a, b, 1, ['/files/../weim.sqlite', `/files/chat/${a.user.id}/AAAAAAAAAAAAAAAAAAAAAA.png`], listed);
  });

  it('refuses URLs off the list or not in normal form', async () => {
    const { a, b } = await makeFriends(t.api);
    await expectRefused(t, a, b, 1, [
      'https://media.example.com/a/../x.png',
      'https://media.example.com/a/./x.png',
      'https://media.example.com/a/%2e%2e/x.png',
      'https://media.example.com/a/%2E/x.png',
      'https://media.example.com/a%2Fx.png',
      'https://media.example.com/a%5cx.png',
      'https://media.example.com\\a.png',
      'https://media.example.com//x.png',
      'https://media.example.com/a.png#x',
      'https://media.example.com/a.png#',
      'https://u:p@media.example.com/a.png',
      'https://u@media.example.com/a.png',
      'https://MEDIA.example.com/a.png',
      'https://media.example.com:443/a.png',
      'https://media.example.com',
      'https://media.example.com/',
      ' https://media.example.com/a.png',
      'http://media.example.com/a.png',
      'https://media.example.com.evil.test/a.png',
      'https://evil.test/a.png',
      'https://evil.test/https://media.example.com/a.png',
      'http://127.0.0.1:8082/a.png',
      'http://localhost:8081/a.png',
    ], /or a URL on an allowed media origin$/);
  });
});

describe.each(testDialects())('media message bodies, Qiniu private bucket (local fake), on %s', (dialect) => {
  const qiniu = { accessKey: 'media-ak', secretKey: 'media-sk', bucket: 'weim' };
  let fake: FakeQiniu;
  let t: TestNode;
  /** A store like the node's, to make URLs the node did not answer (other options, an old deadline). */
  let store: (clock?: () => number) => QiniuBlobStore;
  beforeAll(async () => {
    fake = await startFakeQiniu({ ...qiniu, private: true });
    t = await startTestNode(dialect, {
      ...LIMITS,
      WEIM_UPLOADS_STORE: 'qiniu',
      WEIM_QINIU_ACCESS_KEY: qiniu.accessKey,
      WEIM_QINIU_SECRET_KEY: qiniu.secretKey,
      WEIM_QINIU_BUCKET: qiniu.bucket,
      WEIM_QINIU_DOMAIN: fake.url,
      WEIM_QINIU_UPLOAD_URL: fake.url,
      WEIM_QINIU_PRIVATE: 'true',
    });
    store = (clock = Date.now) => new QiniuBlobStore({ ...qiniu, domain: fake.url, private: true, urlTtlSeconds: 3600, uploadUrl: fake.url }, clock);
  });
  afterAll(async () => {
    await t?.stop();
    await fake?.close();
  });

  it('accepts exactly the signed URL the upload answered; stripped, altered, re-optioned or expired URLs are refused', async () => {
    const { a, b } = await makeFriends(t.api);
    const picture = await upload(t, a.token, 1, samples.png());
    const file = await upload(t, a.token, 6, Buffer.from('notes\n'));
    expect(picture).toMatch(new RegExp(`^${fake.url}/chat/${a.user.id}/[A-Za-z0-9_-]{22}\\.png\\?e=\\d+&token=media-ak:`));
    expect(file).toContain('?attname=');
    const keyOf = (url: string) => new URL(url).pathname.slice(1);
    const token = picture.slice(picture.indexOf('&token=') + '&token='.length);
    const deadline = /e=(\d+)/.exec(picture)![1]!;
    await expectRefused(t, a, b, 1, [
      picture.split('?')[0]!,
      picture.replace(/&token=.*$/, ''),
      picture.replace(`e=${deadline}`, `e=${Number(deadline) + 1}`),
      picture.replace(token, `${token.slice(0, -2)}${token.endsWith('A=') ? 'B=' : 'A='}`),
      `${picture}&x=1`,
      `${picture}#x`,
      picture.replace(`/${keyOf(picture)}`, `//${keyOf(picture)}`),
      store(() => Date.now() - 2 * 3600_000).url(keyOf(picture)),
      store().url(keyOf(picture), { attachment: true }),
      store().url(`chat/${a.user.id}/AAAAAAAAAAAAAAAAAAAAAA.png`),
      `/files/${keyOf(picture)}`,
    ], PICTURE);
    await expectRefused(t, a, b, 6, [store().url(keyOf(file)), store().url(keyOf(picture), { attachment: true })], /^body must be the URL of a file/);
    await expectRefused(t, a, b, 2, [picture], /\(this upload is a picture\)$/);
    await expectAccepted(t, a, b, 1, [picture, store().url(keyOf(picture))]);
    await expectAccepted(t, a, b, 6, [file, picture]);
  });
});
