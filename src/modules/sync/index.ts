export type { UserEventsTable, ReadCursorsTable } from './events.table.js';
export { EVENT_BODY_CHARS, recordUserEvent } from './events.repo.js';
export { SyncService, type SyncPage, type SyncItem } from './sync.service.js';
export { ConversationsService, type ConversationTarget } from './conversations.service.js';
export { encodeCursors, decodeCursors, type Cursors } from './cursors.js';
export { cursorsFrom } from './sync-request.js';
export { syncRoutes } from './sync.routes.js';
