import type { Generated, Insertable, Selectable } from 'kysely';

/** `uploads`: one row per stored blob. Times are epoch milliseconds. */
export interface UploadsTable {
  id: Generated<number>;
  /** The uploader. */
  user_id: number;
  /** `chat` (/im/chat/upload) or `avatar` (/user/update/avatar). */
  purpose: UploadPurpose;
  /** Message type the upload was made for: 1 picture, 2 voice, 3 video, 6 file (avatars: 1). */
  type: number;
  /** The BlobStore kind that holds it (`local` or `qiniu`). */
  store: string;
  /** Key in the store, e.g. `chat/12/<random>.png`; never chosen by the client. */
  object_key: string;
  size: number;
  /** Content type decided from the bytes, served with the file. */
  mime: string;
  created_at: number;
}

export type UploadPurpose = 'chat' | 'avatar';
export type UploadRow = Selectable<UploadsTable>;
export type NewUpload = Insertable<UploadsTable>;
