import { once } from 'node:events';
import { request } from 'node:http';

export interface StreamUploadOptions {
  token: string;
  /** Text fields sent before the file part (e.g. `{ type: '3' }`). */
  fields?: Record<string, string>;
  /** The file's first bytes (a real header, so the kind is recognised); filler follows. */
  head: Uint8Array;
  /** Total file size; the bytes after `head` are generated on the fly, never held whole. */
  fileBytes: number;
  /** Declare Content-Length (true) or send chunked with no length (false, the default). */
  withLength?: boolean;
}

export interface StreamUploadResult {
  status: number;
  body: string;
  /** File bytes written by the time the response arrived (or all of them). */
  sentBytes: number;
}

const BOUNDARY = '----weim-stream-upload';

/**
 * Streams a multipart upload of `fileBytes` in 64 KB chunks and stops sending as soon as a
 * response arrives (a refused upload), so an oversized body is never generated in full.
 */
export function streamUpload(url: string, options: StreamUploadOptions): Promise<StreamUploadResult> {
  const preamble = Buffer.from(
    Object.entries(options.fields ?? {})
      .map(([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
      .join('') +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="upload.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const epilogue = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  const headers: Record<string, string | number> = { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Login-Token': options.token };
  if (options.withLength) headers['Content-Length'] = preamble.length + options.fileBytes + epilogue.length;
  let sentBytes = 0;
  const filler = Buffer.alloc(64 * 1024, 0x5a);
  return streamPost(url, headers, async (write, answered) => {
    await write(preamble);
    const head = Buffer.from(options.head.subarray(0, options.fileBytes));
    await write(head);
    sentBytes = head.length;
    while (!answered() && sentBytes < options.fileBytes) {
      const chunk = filler.subarray(0, Math.min(filler.length, options.fileBytes - sentBytes));
      sentBytes += chunk.length;
      await write(chunk);
    }
    return epilogue;
  }).then((res) => ({ ...res, sentBytes }));
}

/**
 * POSTs a body that `produce` writes piece by piece (honouring backpressure) and resolves with the
 * response as soon as one arrives; `answered()` tells `produce` to stop. `produce` returns the last
 * piece, sent only if no answer came first. Write errors after an answer (EPIPE, reset) are ignored.
 */
export function streamPost(
  url: string,
  headers: Record<string, string | number>,
  produce: (write: (chunk: Buffer) => Promise<void>, answered: () => boolean) => Promise<Buffer | undefined>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let done = false;
    const req = request(url, { method: 'POST', headers }, (res) => {
      done = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err) => {
      if (!done) reject(err);
    });
    // Yield after every chunk: before the socket connects, writes only fill the client's memory.
    const write = async (chunk: Buffer) => {
      if (!req.write(chunk)) await once(req, 'drain');
      else await new Promise((r) => setImmediate(r));
    };
    produce(write, () => done)
      .then((last) => {
        if (!done) req.end(last);
      })
      .catch(() => {});
  });
}
