import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertBlobKey, type BlobMeta, type BlobStore, isBlobKey } from './blob-store.js';

/**
 * The embedded store: blobs are files under `root` (`<data_dir>/blobs`), served by weim under
 * `publicPath`. A blob is written to `root/.tmp/<uuid>` and renamed into place only once complete,
 * so a reader never sees half a file and a failed upload leaves nothing behind.
 */
export class LocalBlobStore implements BlobStore {
  readonly kind = 'local';

  constructor(
    readonly root: string,
    private readonly publicPath: string,
  ) {}

  async put(key: string, body: Readable, _meta: BlobMeta): Promise<number> {
    assertBlobKey(key);
    const temp = join(this.root, '.tmp', randomUUID());
    await mkdir(dirname(temp), { recursive: true });
    let size = 0;
    const out = createWriteStream(temp, { flags: 'wx' });
    try {
      await pipeline(
        body,
        async function* count(source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            size += chunk.length;
            yield chunk;
          }
        },
        out,
      );
      const target = this.pathOf(key);
      await mkdir(dirname(target), { recursive: true });
      await rename(temp, target);
    } catch (err) {
      // The file is opened in the background: a body that failed at once may reject the pipeline
      // before the open has made the file. Removed before then, it would be made afterwards and stay.
      if (!out.closed) await once(out, 'close').catch(() => {});
      await rm(temp, { force: true });
      throw err;
    }
    return size;
  }

  url(key: string): string {
    assertBlobKey(key);
    return `${this.publicPath}/${key}`;
  }

  /** `<publicPath>/<key>` and nothing else (a download is the same URL: the files route marks type 6). */
  keyOf(url: string): string | undefined {
    const prefix = `${this.publicPath}/`;
    if (!url.startsWith(prefix)) return undefined;
    const key = url.slice(prefix.length);
    return isBlobKey(key) ? key : undefined;
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /** Absolute path of a key's file (the key is validated, so it stays under `root`). */
  pathOf(key: string): string {
    assertBlobKey(key);
    return join(this.root, key);
  }
}
