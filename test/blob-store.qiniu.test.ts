import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { QiniuBlobStore, type QiniuOptions } from '../src/storage/blob-store.qiniu.js';
import { type FakeQiniu, hmacSha1, qiniuBase64, startFakeQiniu } from './helpers/fake-qiniu.js';

/**
 * Qiniu cannot be reached from these machines: the token, key and URL logic is checked offline
 * against HMAC-SHA1 vectors (computed outside the SDK), and the upload path against a loopback
 * endpoint that parses the multipart request the SDK sends.
 */
const KEY = 'chat/7/AAAAAAAAAAAAAAAAAAAAAA.png';
const NOW_MS = 1_700_000_000_000;
const options: QiniuOptions = {
  accessKey: 'weim-test-ak',
  secretKey: 'weim-test-sk',
  bucket: 'weim-bucket',
  domain: 'https://cdn.example.test',
  private: false,
  urlTtlSeconds: 3600,
  uploadUrl: 'http://127.0.0.1:9',
};

describe('QiniuBlobStore tokens and URLs (offline vectors)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('issues the documented upload token: AK:urlsafe_b64(hmac_sha1(SK, policy)):policy', () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW_MS });
    const token = new QiniuBlobStore(options).uploadToken(KEY);
    // Pinned vector, computed with Python's hmac module (not node, not the SDK).
    expect(token).toBe(
      'weim-test-ak:jLQeoFw2pUg9Sd_PnUC7VRi3jh4=:eyJzY29wZSI6IndlaW0tYnVja2V0OmNoYXQvNy9BQUFBQUFBQUFBQUFBQUFBQUFBQUFBLnBuZyIsImluc2VydE9ubHkiOjEsImRlYWRsaW5lIjoxNzAwMDAzNjAwfQ==',
    );
    // The same, derived here with node:crypto from the documented algorithm.
    const policy = qiniuBase64(JSON.stringify({ scope: `weim-bucket:${KEY}`, insertOnly: 1, deadline: NOW_MS / 1000 + 3600 }));
    expect(token).toBe(`weim-test-ak:${hmacSha1('weim-test-sk', policy)}:${policy}`);
  });

  it('signs private download URLs with an expiry: url?e=deadline&token=AK:urlsafe_b64(hmac_sha1(SK, url?e=deadline))', () => {
    const store = new QiniuBlobStore({ ...options, private: true }, () => NOW_MS);
    expect(store.url(KEY)).toBe(`https://cdn.example.test/${KEY}?e=1700003600&token=weim-test-ak:PDtYjKzIv_gHTGkzRVscjARtXUY=`);
    expect(store.url(KEY, { attachment: true })).toBe(
      `https://cdn.example.test/${KEY}?attname=AAAAAAAAAAAAAAAAAAAAAA.png&e=1700003600&token=weim-test-ak:slcSBAvgdtOotXsO-DnU2ENr4WQ=`,
    );
    const unsigned = `https://cdn.example.test/${KEY}?e=1700003600`;
    expect(store.url(KEY)).toBe(`${unsigned}&token=weim-test-ak:${hmacSha1('weim-test-sk', unsigned)}`);
  });

  it('keyOf takes back a signed URL until its deadline, and none with another deadline, signature, option or query', () => {
    let now = NOW_MS;
    const store = new QiniuBlobStore({ ...options, private: true }, () => now);
    const url = store.url(KEY);
    const download = store.url(KEY, { attachment: true });
    expect([store.keyOf(url), store.keyOf(download, { attachment: true })]).toEqual([KEY, KEY]);
    const token = url.slice(url.indexOf('&token=') + '&token='.length);
    const forged = [
      download,
      url.replace('e=1700003600', 'e=1700003601'),
      url.replace(token, `${token.slice(0, -2)}${token.endsWith('A=') ? 'B=' : 'A='}`),
      url.split('?')[0]!,
      url.replace(/&token=.*$/, ''),
      `${url}&x=1`,
      `${url}#x`,
      url.replace('?e=', '?x=1&e='),
      url.replace(`/${KEY}`, `//${KEY}`),
      new QiniuBlobStore({ ...options, private: true, secretKey: 'another-sk' }, () => now).url(KEY),
    ];
    for (const other of forged) expect(store.keyOf(other), other).toBeUndefined();
    now = 1_700_003_600_000; // the deadline
    expect(store.keyOf(url)).toBeUndefined();
  });

  it('gives public-bucket URLs on the domain, unsigned', () => {
    const store = new QiniuBlobStore(options);
    expect(store.url(KEY)).toBe(`https://cdn.example.test/${KEY}`);
    expect(store.url(KEY, { attachment: true })).toBe(`https://cdn.example.test/${KEY}?attname=AAAAAAAAAAAAAAAAAAAAAA.png`);
  });
});

describe('QiniuBlobStore form upload through the SDK (local endpoint)', () => {
  let fake: FakeQiniu;
  beforeAll(async () => {
    fake = await startFakeQiniu({ accessKey: 'weim-test-ak', secretKey: 'weim-test-sk', bucket: 'weim-bucket', private: true });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('sends token, key, content type and bytes the endpoint accepts; the signed URL downloads them', async () => {
    const store = new QiniuBlobStore({ ...options, private: true, domain: fake.url, uploadUrl: fake.url });
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
    const size = await store.put(KEY, Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]), { contentType: 'image/png' });
    expect(size).toBe(data.length);
    expect(fake.refusals).toEqual([]);
    expect(fake.objects.get(KEY)?.mime).toBe('image/png');
    expect(fake.objects.get(KEY)?.data.equals(data)).toBe(true);
    const download = await fetch(store.url(KEY));
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(data)).toBe(true);
    // An expired or tampered URL is refused by the endpoint's check of the same algorithm.
    const expired = new QiniuBlobStore({ ...options, private: true, domain: fake.url }, () => NOW_MS);
    expect((await fetch(expired.url(KEY))).status).toBe(401);
    expect((await fetch(store.url(KEY).replace('?e=', '?e=1'))).status).toBe(401);
  });

  it('fails when the endpoint refuses the token (wrong secret key), storing nothing', async () => {
    const store = new QiniuBlobStore({ ...options, secretKey: 'not-the-secret', domain: fake.url, uploadUrl: fake.url });
    const key = 'chat/7/BBBBBBBBBBBBBBBBBBBBBB.png';
    await expect(store.put(key, Readable.from([Buffer.from('png bytes')]), { contentType: 'image/png' })).rejects.toThrow(/qiniu upload/);
    expect(fake.refusals.at(-1)).toBe('bad token signature');
    expect(fake.objects.has(key)).toBe(false);
  });
});
