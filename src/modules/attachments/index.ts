export type { UploadsTable, UploadRow, UploadPurpose } from './attachments.table.js';
export { AttachmentsService, type UploadCaps, type StoredUpload, type ChatUpload } from './attachments.service.js';
export { attachmentsRoutes } from './attachments.routes.js';
export { filesRoutes } from './files.routes.js';
export { UPLOAD_TYPES, type UploadType, sniff } from './media-types.js';
