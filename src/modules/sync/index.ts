export { SyncService, type SyncPage, type SyncItem } from './sync.service.js';
export { ConversationsService, type ConversationTarget } from './conversations.service.js';
export { ReceiptsService, type Receipt } from './receipts.js';
export { encodeCursors, decodeCursors, heldKeys, type Cursors } from './cursors.js';
export { cursorsFrom } from './sync-request.js';
export { syncRoutes } from './sync.routes.js';
