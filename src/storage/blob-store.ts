import type { Readable } from 'node:stream';

/** What a store keeps with a blob. */
export interface BlobMeta {
  /** Content type decided by weim from the bytes (never the client's claim). */
  contentType: string;
}

export interface BlobUrlOptions {
  /** Ask the download to be saved, not displayed (`Content-Disposition: attachment`). */
  attachment?: boolean;
}

/**
 * Where uploaded bytes live. Implementations side by side: `blob-store.local.ts` (files under the
 * data directory, served by weim) and `blob-store.qiniu.ts` (Qiniu Kodo). Keys are made by weim
 * (`<purpose>/<uid>/<random>.<ext>`, see `isBlobKey`), never taken from a client.
 */
export interface BlobStore {
  readonly kind: 'local' | 'qiniu';
  /**
   * Streams `body` into the store under `key` and resolves to the number of bytes stored. Either
   * the whole blob is stored or nothing is: when `body` errors (e.g. an upload over its cap) the
   * promise rejects with that error and no partial blob remains.
   */
  put(key: string, body: Readable, meta: BlobMeta): Promise<number>;
  /** The URL clients fetch the blob from: relative to the server (local) or absolute (signed and expiring for a private bucket). */
  url(key: string, options?: BlobUrlOptions): string;
  /**
   * The key of `url` when `url` is exactly what `url(key, options)` makes (for a signed URL: made
   * with this store's secret and not yet expired); undefined for anything else, a URL that merely
   * resolves to the same blob included (`..`, `//`, percent-encoding, an extra query or fragment).
   */
  keyOf(url: string, options?: BlobUrlOptions): string | undefined;
  /** Removes a blob; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
}

/** `<purpose>/<uid>/<random>.<ext>`: the only shape of key a store accepts or serves. */
const KEY_PATTERN = /^[a-z]{1,16}\/[1-9][0-9]{0,15}\/[A-Za-z0-9_-]{16,64}\.[a-z0-9]{1,10}$/;

export function isBlobKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/** Throws for a key that is not one weim makes (keeps `..`, absolute paths and the like out). */
export function assertBlobKey(key: string): void {
  if (!isBlobKey(key)) throw new Error(`invalid blob key ${JSON.stringify(key)}`);
}
