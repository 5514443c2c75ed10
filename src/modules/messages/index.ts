export type { MessageEditsTable, MessageMentionsTable, MessagesTable, StoredMessage } from './messages.table.js';
export { type MessageStore, MessageWriter } from './message-writer.js';
export { ThreadedMessageWriter } from './message-writer.thread.js';
export { MessagesService, type MessagesOptions, type SendInput } from './messages.service.js';
export { TypingService } from './typing.service.js';
export { EditsService } from './edits.service.js';
export { messagesRoutes } from './messages.routes.js';
export { isMediaType, MediaBodies } from './media-bodies.js';
