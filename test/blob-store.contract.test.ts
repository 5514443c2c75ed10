import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../src/storage/blob-store.js';
import { LocalBlobStore } from '../src/storage/blob-store.local.js';
import { QiniuBlobStore } from '../src/storage/blob-store.qiniu.js';
import { type FakeQiniu, startFakeQiniu } from './helpers/fake-qiniu.js';

interface Subject {
  store: BlobStore;
  /** The stored bytes of `key`, or undefined when nothing is stored under it. */
  read(key: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

async function localSubject(): Promise<Subject> {
  const root = mkdtempSync(join(tmpdir(), 'weim-blobs-'));
  const store = new LocalBlobStore(root, '/files');
  return {
    store,
    read: (key) => readFile(store.pathOf(key)).catch(() => undefined),
    async close() {
      expect(readdirSync(join(root, '.tmp')), 'no temp files left').toEqual([]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function qiniuSubject(): Promise<Subject> {
  const fake: FakeQiniu = await startFakeQiniu({ accessKey: 'contract-ak', secretKey: 'contract-sk', bucket: 'contract' });
  const store = new QiniuBlobStore({
    accessKey: 'contract-ak',
    secretKey: 'contract-sk',
    bucket: 'contract',
    domain: fake.url,
    private: false,
    urlTtlSeconds: 600,
    uploadUrl: fake.url,
  });
  return {
    store,
    async read(key) {
      const response = await fetch(store.url(key));
      return response.ok ? Buffer.from(await response.arrayBuffer()) : undefined;
    },
    close: () => fake.close(),
  };
}

let counter = 0;
const newKey = (ext = 'bin') => `chat/42/${`contract${++counter}`.padEnd(22, 'x')}.${ext}`;

/** Yields `chunks` chunks of 64 KB of a recognisable pattern, then fails if `failAfter` is set. */
async function* pattern(chunks: number, failAfter?: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < chunks; i++) {
    if (failAfter !== undefined && i === failAfter) throw new Error('client went away');
    yield Buffer.alloc(64 * 1024, i % 251);
  }
}

describe.each([
  ['local', localSubject],
  ['qiniu (against a local fake endpoint)', qiniuSubject],
] as const)('BlobStore contract: %s', (_name, makeSubject) => {
  let s: Subject;
  beforeAll(async () => {
    s = await makeSubject();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('stores exactly the streamed bytes and returns their count', async () => {
    const key = newKey('png');
    const size = await s.store.put(key, Readable.from(pattern(20)), { contentType: 'image/png' });
    expect(size).toBe(20 * 64 * 1024);
    const expected = Buffer.concat(Array.from({ length: 20 }, (_, i) => Buffer.alloc(64 * 1024, i % 251)));
    expect((await s.read(key))?.equals(expected)).toBe(true);
  });

  it('stores nothing when the body fails midway, and rejects with its error', async () => {
    const key = newKey();
    await expect(s.store.put(key, Readable.from(pattern(20, 5)), { contentType: 'application/octet-stream' })).rejects.toThrow('client went away');
    expect(await s.read(key)).toBeUndefined();
  });

  it('refuses keys weim does not make', async () => {
    for (const key of ['../../etc/passwd', '/etc/passwd', 'chat/1/../../x.png', 'chat/1/short.png', 'chat/abc/AAAAAAAAAAAAAAAAAAAAAA.png', '']) {
      await expect(s.store.put(key, Readable.from([Buffer.from('x')]), { contentType: 'text/plain' }), key).rejects.toThrow(/invalid blob key/);
      expect(() => s.store.url(key), key).toThrow(/invalid blob key/);
    }
  });

  it('keyOf gives back the key of exactly the URLs url() makes, and of nothing else', () => {
    const key = newKey('png');
    const url = s.store.url(key);
    const download = s.store.url(key, { attachment: true });
    expect(s.store.keyOf(url)).toBe(key);
    expect(s.store.keyOf(download, { attachment: true })).toBe(key);
    // Local URLs are the same either way (the files route marks downloads); Qiniu's carry attname.
    expect(s.store.keyOf(download)).toBe(download === url ? key : undefined);
    const name = key.split('/')[2]!;
    const others = [
      `${url}?x`, `${url}?`, `${url}#x`, `${url}/../x`, `${url}/.`, ` ${url}`, `${url}\n`, '', 'x',
      url.replace(key, key.replace('/', '//')),
      url.replace(key, key.replace('chat', '%63hat')),
      url.replace(key, `chat/42/../42/${name}`),
      url.replace(key, `chat/42/./${name}`),
      url.replace(key, `chat/42%2F${name}`),
      url.replace(key, key.toUpperCase()),
      url.replace(key, 'chat/42/..%2F..%2Fweim.sqlite'),
    ];
    for (const other of others) expect(s.store.keyOf(other), other).toBeUndefined();
  });

  it('gives each key its own URL', async () => {
    const a = newKey('png');
    const b = newKey('png');
    expect(s.store.url(a)).not.toBe(s.store.url(b));
    expect(s.store.url(a)).toContain(a);
  });
});

describe('LocalBlobStore', () => {
  it('deletes a blob; deleting a missing one is fine', async () => {
    const s = await localSubject();
    const key = newKey();
    await s.store.put(key, Readable.from([Buffer.from('bye')]), { contentType: 'text/plain' });
    await s.store.delete(key);
    expect(await s.read(key)).toBeUndefined();
    await s.store.delete(key);
    await s.close();
  });

  it('leaves no temp file when the body fails before the file is even open (an upload refused at once)', async () => {
    // The file is opened in the background: a body failing on its first read used to have its temp
    // file removed before it existed, so that the open made it afterwards and it stayed (found by
    // the input property suite, ~4 % of over-cap uploads). Each run races that open.
    const s = await localSubject();
    const failing = async function* () {
      throw new Error('refused');
    };
    for (let i = 0; i < 50; i++) {
      await expect(s.store.put(newKey(), Readable.from(failing()), { contentType: 'image/png' })).rejects.toThrow('refused');
    }
    await new Promise((r) => setTimeout(r, 200));
    await s.close();
  });
});
