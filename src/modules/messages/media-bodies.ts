import type { Executor } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { BlobStore } from '../../storage/blob-store.js';
// The two leaf files, not the module's index: messages stays clear of the upload service's imports.
import { findUploadByKey } from '../attachments/attachments.repo.js';
import { UPLOAD_TYPES, type UploadType } from '../attachments/media-types.js';

const WHAT: Record<UploadType, { en: string; zh: string }> = {
  1: { en: 'a picture', zh: '图片' },
  2: { en: 'a voice recording', zh: '语音' },
  3: { en: 'a video', zh: '视频' },
  6: { en: 'a file', zh: '文件' },
};

/** Types 1, 2, 3 and 6: the message body is the URL of an upload. */
export function isMediaType(type: number): type is UploadType {
  return (UPLOAD_TYPES as readonly number[]).includes(type);
}

/**
 * Decides whether a picture, voice, video or file message may carry its body: the URL of an upload
 * exactly as /im/chat/upload answered it (any user's: upload URLs are shared by sending them), of
 * the message's kind, or a URL on one of the configured external origins. Pictures, voice and video
 * must name an upload made as that type; a file (type 6) may name any chat upload. Avatars are not
 * chat uploads.
 */
export class MediaBodies {
  constructor(
    private readonly db: Executor,
    private readonly store: Pick<BlobStore, 'kind' | 'keyOf'>,
    /** `messages.media_origins`, as `mediaOrigins` validated them. */
    private readonly origins: ReadonlySet<string>,
  ) {}

  /**
   * What can be told from the body alone: the reason it cannot be the URL of an upload of this
   * store nor one on an allowed origin, or undefined. No database read, so it runs with the other
   * field checks, before the group or peer is looked up.
   */
  shapeProblem(type: UploadType, body: string): AppError | undefined {
    return this.keyOf(body).key === undefined && !this.onAllowedOrigin(body) ? this.refusal(type) : undefined;
  }

  /** The reason `body` is refused as a message of `type`, or undefined. Reads the database only for a URL of this store. */
  async problem(type: UploadType, body: string): Promise<AppError | undefined> {
    const refusal = this.refusal(type);
    const { key, plain, download } = this.keyOf(body);
    if (key === undefined) return this.onAllowedOrigin(body) ? undefined : refusal;
    const upload = await findUploadByKey(this.db, key);
    if (!upload || upload.purpose !== 'chat' || upload.store !== this.store.kind) return refusal;
    const uploadType = Number(upload.type) as UploadType;
    if ((uploadType === 6 ? download : plain) !== key) return refusal;
    if (type !== 6 && uploadType !== type) return new AppError('media_wrong_kind', { what: WHAT[type], actual: WHAT[uploadType] });
    return undefined;
  }

  private refusal(type: UploadType): AppError {
    return new AppError(this.origins.size > 0 ? 'media_not_uploaded_or_origin' : 'media_not_uploaded', { what: WHAT[type] });
  }

  /** The store's key the body names, as a URL made without or with the download option (type 6 uploads get it). */
  private keyOf(body: string): { key: string | undefined; plain: string | undefined; download: string | undefined } {
    const plain = this.store.keyOf(body);
    const download = this.store.keyOf(body, { attachment: true });
    return { key: plain ?? download, plain, download };
  }

  /**
   * An absolute http(s) URL on an allowed origin, already in the URL standard's own form (so no
   * `.`/`..` segments, no backslashes, nothing the parser would rewrite), with a path, no user
   * info, no fragment, and no empty segment or percent-encoded dot, slash or backslash in the path.
   * The query is the other service's business and may be anything the standard keeps as it is.
   */
  private onAllowedOrigin(body: string): boolean {
    if (this.origins.size === 0) return false;
    let url: URL;
    try {
      url = new URL(body);
    } catch {
      return false;
    }
    return (
      url.href === body &&
      this.origins.has(url.origin) &&
      url.username === '' &&
      url.password === '' &&
      !body.includes('#') &&
      url.pathname.length > 1 &&
      !/\/\/|%2e|%2f|%5c/i.test(url.pathname)
    );
  }
}
