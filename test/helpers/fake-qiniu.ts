import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

/** Qiniu's URL-safe Base64 (padding kept), as its documentation defines it. */
export function qiniuBase64(data: Buffer | string): string {
  return Buffer.from(data).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export function hmacSha1(secret: string, text: string): string {
  return qiniuBase64(createHmac('sha1', secret).update(text).digest());
}

export interface FakeObject {
  data: Buffer;
  mime: string;
}

export interface FakeQiniu {
  /** Base URL: the upload host and the bucket's download domain at once. */
  url: string;
  objects: Map<string, FakeObject>;
  /** Why the last refused upload was refused. */
  refusals: string[];
  close(): Promise<void>;
}

export interface FakeQiniuOptions {
  accessKey: string;
  secretKey: string;
  bucket: string;
  private?: boolean;
}

/**
 * A loopback stand-in for Qiniu (which cannot be reached from these machines). As the upload
 * host it parses the multipart form the SDK sends and checks it the way Qiniu documents: the
 * upload token's HMAC-SHA1 signature and deadline, that its scope names this bucket and the key,
 * the key field, and the CRC32 the SDK reports against the bytes. As the download domain it serves
 * stored objects, checking `e` and `token` in private mode.
 */
export async function startFakeQiniu(options: FakeQiniuOptions): Promise<FakeQiniu> {
  const objects = new Map<string, FakeObject>();
  const refusals: string[] = [];
  const refuse = (res: ServerResponse, status: number, reason: string) => {
    refusals.push(reason);
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: reason }));
  };

  async function upload(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: Buffer.concat(chunks) }).formData();
    const token = String(form.get('token') ?? '');
    const key = String(form.get('key') ?? '');
    const file = form.get('file');
    const [accessKey, signature, encodedPolicy] = token.split(':');
    if (accessKey !== options.accessKey || !encodedPolicy) return refuse(res, 401, 'bad token format');
    if (signature !== hmacSha1(options.secretKey, encodedPolicy)) return refuse(res, 401, 'bad token signature');
    const policy = JSON.parse(Buffer.from(encodedPolicy, 'base64').toString('utf8')) as { scope?: string; deadline?: number };
    if (policy.scope !== `${options.bucket}:${key}`) return refuse(res, 401, `scope ${policy.scope} does not allow key ${key}`);
    if (!(typeof policy.deadline === 'number' && policy.deadline > Date.now() / 1000)) return refuse(res, 401, 'token expired');
    if (!(file instanceof File)) return refuse(res, 400, 'no file part');
    const data = Buffer.from(await file.arrayBuffer());
    const reportedCrc = form.get('crc32');
    if (reportedCrc !== null && Number(reportedCrc) !== crc32(data)) return refuse(res, 406, 'crc32 mismatch');
    objects.set(key, { data, mime: file.type });
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ key, hash: 'fake' }));
  }

  function download(req: IncomingMessage, res: ServerResponse, base: string) {
    const url = new URL(req.url ?? '/', base);
    const key = decodeURIComponent(url.pathname.slice(1));
    if (options.private) {
      const signed = `${base}${req.url!.replace(/&token=[^&]*$/, '')}`;
      const token = url.searchParams.get('token') ?? '';
      const deadline = Number(url.searchParams.get('e'));
      if (token !== `${options.accessKey}:${hmacSha1(options.secretKey, signed)}`) return refuse(res, 401, 'bad download token');
      if (!(deadline > Date.now() / 1000)) return refuse(res, 401, 'download URL expired');
    }
    const object = objects.get(key);
    if (!object) return refuse(res, 404, 'no such key');
    const headers: Record<string, string> = { 'Content-Type': object.mime };
    const attname = url.searchParams.get('attname');
    if (attname) headers['Content-Disposition'] = `attachment; filename="${attname}"`;
    res.writeHead(200, headers).end(object.data);
  }

  let base = '';
  const server = createServer((req, res) => {
    const handled = req.method === 'POST' ? upload(req, res) : Promise.resolve(download(req, res, base));
    handled.catch((err: unknown) => refuse(res, 500, String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    objects,
    refusals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
