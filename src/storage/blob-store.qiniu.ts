import { timingSafeEqual } from 'node:crypto';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import * as qiniu from 'qiniu';
import { assertBlobKey, type BlobMeta, type BlobStore, type BlobUrlOptions, isBlobKey } from './blob-store.js';

export interface QiniuOptions {
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** Download domain with scheme and no path, e.g. `https://cdn.example.com`. */
  domain: string;
  /** Private bucket: download URLs are signed and expire after `urlTtlSeconds`. */
  private: boolean;
  urlTtlSeconds: number;
  /** Upload host `scheme://host[:port]`; empty: the SDK asks Qiniu for the bucket's region. */
  uploadUrl: string;
}

/** How long an upload token issued for one put stays valid. */
const UPLOAD_TOKEN_TTL_SECONDS = 3600;

/**
 * Qiniu Kodo through the official SDK: an upload token per put (scoped to that key, insert-only),
 * a form upload of the stream, and public or signed private download URLs.
 *
 * Note: the SDK's form upload (7.15) keeps the whole file in memory while it computes its CRC32,
 * so each in-flight upload costs its size in memory here (bounded by the per-type caps).
 */
export class QiniuBlobStore implements BlobStore {
  readonly kind = 'qiniu';
  private readonly mac: qiniu.auth.digest.Mac;
  private readonly uploader: qiniu.form_up.FormUploader;
  private readonly buckets: qiniu.rs.BucketManager;

  constructor(
    private readonly options: QiniuOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.mac = new qiniu.auth.digest.Mac(options.accessKey, options.secretKey);
    const config = new qiniu.conf.Config();
    if (options.uploadUrl) {
      const url = new URL(options.uploadUrl);
      const up = new qiniu.httpc.Endpoint(url.host, { defaultScheme: url.protocol.replace(':', '') });
      config.regionsProvider = new qiniu.httpc.Region({ services: { up: [up] } });
      config.useHttpsDomain = url.protocol === 'https:';
    } else {
      config.useHttpsDomain = true;
    }
    this.uploader = new qiniu.form_up.FormUploader(config);
    this.buckets = new qiniu.rs.BucketManager(this.mac, new qiniu.conf.Config({ useHttpsDomain: true }));
  }

  /** An upload token allowing exactly `key` to be created in the bucket (not overwritten). */
  uploadToken(key: string): string {
    const policy = new qiniu.rs.PutPolicy({ scope: `${this.options.bucket}:${key}`, expires: UPLOAD_TOKEN_TTL_SECONDS, insertOnly: 1 });
    return policy.uploadToken(this.mac);
  }

  async put(key: string, body: Readable, meta: BlobMeta): Promise<number> {
    assertBlobKey(key);
    let size = 0;
    let failure: unknown;
    // Count bytes, and remember a body error: the SDK would otherwise upload a truncated file.
    body.on('data', (chunk: Buffer) => (size += chunk.length));
    body.once('error', (err) => (failure = err));
    const extra = new qiniu.form_up.PutExtra(basename(key), {}, meta.contentType);
    let result: qiniu.form_up.UploadResult;
    try {
      result = await this.uploader.putStream(this.uploadToken(key), key, body, extra);
    } catch (err) {
      throw failure ?? new Error(`qiniu upload of ${key} failed: ${(err as Error).message}`, { cause: err });
    }
    if (failure) throw failure;
    if (!result.ok()) throw new Error(`qiniu upload of ${key} failed: HTTP ${result.resp.statusCode} ${JSON.stringify(result.data)}`);
    return size;
  }

  url(key: string, options: BlobUrlOptions = {}): string {
    assertBlobKey(key);
    if (!this.options.private) return this.buckets.publicDownloadUrl(this.options.domain, downloadName(key, options));
    return this.signedUrl(key, options, Math.floor(this.clock() / 1000) + this.options.urlTtlSeconds);
  }

  /**
   * A URL `url()` made: on the domain, the key, `attname` only for an attachment, and for a private
   * bucket a deadline still ahead with the signature this store's secret gives it.
   */
  keyOf(url: string, options: BlobUrlOptions = {}): string | undefined {
    const prefix = `${this.options.domain}/`;
    if (!url.startsWith(prefix)) return undefined;
    const rest = url.slice(prefix.length);
    const key = rest.split('?', 1)[0]!;
    if (!isBlobKey(key)) return undefined;
    let expected: string;
    if (this.options.private) {
      const deadline = /[?&]e=([1-9][0-9]{0,11})&token=[^&?#]*$/.exec(rest)?.[1];
      if (!deadline || Number(deadline) * 1000 <= this.clock()) return undefined;
      expected = this.signedUrl(key, options, Number(deadline));
    } else {
      expected = this.buckets.publicDownloadUrl(this.options.domain, downloadName(key, options));
    }
    return sameText(expected, url) ? key : undefined;
  }

  private signedUrl(key: string, options: BlobUrlOptions, deadline: number): string {
    return this.buckets.privateDownloadUrl(this.options.domain, downloadName(key, options), deadline);
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    const result = await this.buckets.delete(this.options.bucket, key);
    // 612: no such key, which is what delete wants anyway.
    if (!result.ok() && result.resp.statusCode !== 612) throw new Error(`qiniu delete of ${key} failed: HTTP ${result.resp.statusCode}`);
  }
}

/** The object name a download URL carries: the key, with `attname` to make it a download. */
function downloadName(key: string, options: BlobUrlOptions): string {
  return options.attachment ? `${key}?attname=${encodeURIComponent(basename(key))}` : key;
}

/** String equality in time independent of where they differ (a signature is compared). */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
