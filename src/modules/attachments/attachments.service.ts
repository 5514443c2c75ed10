import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import type { BlobStore } from '../../storage/blob-store.js';
import { type SelfUser, type UsersService } from '../users/index.js';
import { findUploadByKey, insertUpload } from './attachments.repo.js';
import type { UploadPurpose } from './attachments.table.js';
import { fitsType, type MediaKind, SNIFF_BYTES, sniff, TYPE_NAMES, UPLOAD_TYPES, type UploadType } from './media-types.js';

/** Size caps: per chat upload type, and for avatars. */
export interface UploadCaps {
  perType: Record<UploadType, number>;
  avatar: number;
}

/** A blob that has been streamed into the store but not yet recorded. */
export interface StoredUpload {
  key: string;
  size: number;
  mime: string;
  kind: MediaKind | undefined;
}

/** The answer of /im/chat/upload; message bodies of types 1/2/3/6 carry `url`. */
export interface ChatUpload {
  url: string;
  size: number;
  mime: string;
}

/** How the local store serves a recorded blob. */
export interface Download {
  mime: string;
  /** Type 6 files are served as downloads, never displayed. */
  attachment: boolean;
}

/** What an upload of each type must hold, for the refusal's message. */
const WANTED: Record<UploadType, { en: string; zh: string }> = {
  1: { en: 'a picture (jpeg, png, gif, webp)', zh: '图片（jpeg、png、gif、webp）' },
  2: { en: 'a voice recording (amr, mp3, m4a/aac, wav, ogg/opus)', zh: '语音（amr、mp3、m4a/aac、wav、ogg/opus）' },
  3: { en: 'a video (mp4, mov, webm, 3gp)', zh: '视频（mp4、mov、webm、3gp）' },
  6: { en: 'a file', zh: '文件' },
};

/**
 * Chat attachments and avatars: decides what an upload is from its bytes, enforces the caps while
 * it streams into the BlobStore, records every stored blob in `uploads`, and rate-limits per user.
 */
export class AttachmentsService {
  constructor(
    private readonly db: Db,
    private readonly store: BlobStore,
    private readonly users: UsersService,
    private readonly limiter: RateLimiter,
    readonly caps: UploadCaps,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Counts one upload against the user's rate limit (before any byte is read). */
  async admit(userId: number): Promise<void> {
    await this.limiter.consume(String(userId));
  }

  /** The largest file either route may receive. */
  get largestCap(): number {
    return Math.max(this.caps.avatar, ...UPLOAD_TYPES.map((t) => this.caps.perType[t]));
  }

  /**
   * Streams one uploaded file into the store. The kind comes from the first bytes; content that
   * cannot be `declared` (when the type field came before the file) is refused before anything is
   * stored, and the cap applies while streaming: past it the upload stops with PAYLOAD_TOO_LARGE
   * and nothing is kept. When the type is not known yet, the cap is the largest it could be.
   */
  async receive(userId: number, purpose: UploadPurpose, declared: UploadType | undefined, file: Readable): Promise<StoredUpload> {
    const source = file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const head = await readHead(source, SNIFF_BYTES);
    if (head.length === 0) throw new AppError('file_empty');
    const sniffed = await sniff(head);
    let cap: number;
    if (purpose === 'avatar') {
      refuseMismatch(1, sniffed.kind);
      cap = this.caps.avatar;
    } else if (declared !== undefined) {
      refuseMismatch(declared, sniffed.kind);
      cap = this.caps.perType[declared];
    } else {
      cap = Math.max(this.caps.perType[6], sniffed.kind ? this.caps.perType[sniffed.kind] : 0);
    }
    const key = `${purpose}/${userId}/${randomBytes(16).toString('base64url')}.${sniffed.ext}`;
    const size = await this.store.put(key, Readable.from(capped(head, source, cap)), { contentType: sniffed.mime });
    return { key, size, mime: sniffed.mime, kind: sniffed.kind };
  }

  /** Checks a stored chat upload against its type, records it and answers its URL. */
  async completeChatUpload(userId: number, type: UploadType, stored: StoredUpload): Promise<ChatUpload> {
    refuseMismatch(type, stored.kind);
    if (stored.size > this.caps.perType[type]) throw new AppError('payload_too_large');
    await insertUpload(this.db, this.row(userId, 'chat', type, stored));
    return { url: this.store.url(stored.key, { attachment: type === 6 }), size: stored.size, mime: stored.mime };
  }

  /** Records a stored avatar and makes it the user's avatar, in one transaction. */
  async completeAvatar(userId: number, stored: StoredUpload): Promise<SelfUser> {
    refuseMismatch(1, stored.kind);
    const url = this.store.url(stored.key);
    return this.db.transaction().execute(async (trx) => {
      await insertUpload(trx, this.row(userId, 'avatar', 1, stored));
      return this.users.updateAvatar(userId, url, trx);
    });
  }

  /** Removes a blob that was stored but not recorded (its request failed). */
  async discard(key: string): Promise<void> {
    await this.store.delete(key);
  }

  /** How to serve a recorded blob; undefined when `key` was never recorded. */
  async download(key: string): Promise<Download | undefined> {
    const row = await findUploadByKey(this.db, key);
    return row && { mime: row.mime, attachment: Number(row.type) === 6 };
  }

  private row(userId: number, purpose: UploadPurpose, type: UploadType, stored: StoredUpload) {
    return {
      user_id: userId,
      purpose,
      type,
      store: this.store.kind,
      object_key: stored.key,
      size: stored.size,
      mime: stored.mime,
      created_at: this.clock(),
    };
  }
}

function refuseMismatch(type: UploadType, kind: MediaKind | undefined): void {
  if (fitsType(type, kind)) return;
  throw new AppError('file_type_mismatch', { want: WANTED[type] });
}

/** Reads at least `bytes` from the source (or all of it, if shorter). */
async function readHead(source: AsyncIterator<Buffer>, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < bytes) {
    const next = await source.next();
    if (next.done) break;
    chunks.push(next.value);
    length += next.value.length;
  }
  return Buffer.concat(chunks);
}

/**
 * The head, then the rest of the source; throws PAYLOAD_TOO_LARGE as soon as the total passes
 * `cap`. A refused source is left unread rather than destroyed: the route answers first and then
 * cuts the connection (destroying multer's file stream would make it report a broken body instead).
 */
async function* capped(head: Buffer, source: AsyncIterator<Buffer>, cap: number): AsyncGenerator<Buffer> {
  let total = head.length;
  if (total > cap) throw new AppError('payload_too_large');
  yield head;
  for (;;) {
    const next = await source.next();
    if (next.done) return;
    total += next.value.length;
    if (total > cap) throw new AppError('payload_too_large');
    yield next.value;
  }
}
