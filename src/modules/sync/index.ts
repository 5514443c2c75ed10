export { SyncService, type SyncPage, type SyncItem } from './sync.service.js';
export { ConversationsService, type ConversationTarget } from './conversations.service.js';
export { encodeCursors, decodeCursors, type Cursors } from './cursors.js';
export { cursorsFrom } from './sync-request.js';
export { syncRoutes } from './sync.routes.js';
