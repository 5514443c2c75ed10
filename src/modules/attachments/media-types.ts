import { fileTypeFromBuffer } from 'file-type';

/** Message types an upload can be made for (API.md): 1 picture, 2 voice, 3 video, 6 any file. */
export const UPLOAD_TYPES = [1, 2, 3, 6] as const;
export type UploadType = (typeof UPLOAD_TYPES)[number];
/** The types whose content must be media of that kind (6 takes anything). */
export type MediaKind = 1 | 2 | 3;

/** How many leading bytes decide the kind (file-type's own detection window, 4100 bytes). */
export const SNIFF_BYTES = 4100;

interface MediaFormat {
  kind: MediaKind;
  /** Content type the file is stored and served with. */
  mime: string;
}

/**
 * The accepted formats, keyed by file-type's extension. Everything else (including what cannot be
 * identified) is only accepted as type 6 and served as a download.
 */
const MEDIA_FORMATS: ReadonlyMap<string, MediaFormat> = new Map([
  ['jpg', { kind: 1, mime: 'image/jpeg' }],
  ['png', { kind: 1, mime: 'image/png' }],
  ['apng', { kind: 1, mime: 'image/apng' }],
  ['gif', { kind: 1, mime: 'image/gif' }],
  ['webp', { kind: 1, mime: 'image/webp' }],
  ['amr', { kind: 2, mime: 'audio/amr' }],
  ['mp3', { kind: 2, mime: 'audio/mpeg' }],
  ['m4a', { kind: 2, mime: 'audio/mp4' }],
  ['aac', { kind: 2, mime: 'audio/aac' }],
  ['wav', { kind: 2, mime: 'audio/wav' }],
  ['ogg', { kind: 2, mime: 'audio/ogg' }],
  ['oga', { kind: 2, mime: 'audio/ogg' }],
  ['opus', { kind: 2, mime: 'audio/ogg; codecs=opus' }],
  ['mp4', { kind: 3, mime: 'video/mp4' }],
  ['m4v', { kind: 3, mime: 'video/mp4' }],
  ['mov', { kind: 3, mime: 'video/quicktime' }],
  ['webm', { kind: 3, mime: 'video/webm' }],
  ['3gp', { kind: 3, mime: 'video/3gpp' }],
  ['3g2', { kind: 3, mime: 'video/3gpp2' }],
]);

/** What the leading bytes say a file is. */
export interface Sniffed {
  /** Extension the stored key gets (`bin` when unknown). */
  ext: string;
  mime: string;
  /** The media kind, when the format is one of the accepted pictures, voices or videos. */
  kind: MediaKind | undefined;
}

/** Decides a file's format from its first bytes (magic numbers), never from a name or a claimed MIME type. */
export async function sniff(head: Uint8Array): Promise<Sniffed> {
  const detected = head.length > 0 ? await fileTypeFromBuffer(head) : undefined;
  if (!detected) return { ext: 'bin', mime: 'application/octet-stream', kind: undefined };
  const format = MEDIA_FORMATS.get(detected.ext);
  if (format) return { ext: detected.ext, mime: format.mime, kind: format.kind };
  return { ext: detected.ext, mime: detected.mime, kind: undefined };
}

/** Whether content of `kind` may be sent as message type `type`. */
export function fitsType(type: UploadType, kind: MediaKind | undefined): boolean {
  return type === 6 || type === kind;
}

export const TYPE_NAMES: Record<UploadType, string> = { 1: 'picture', 2: 'voice', 3: 'video', 6: 'file' };
