// The streams every other module writes to, and nothing here imports another module: the
// conversations (a friend pair's or a group's, each with its gap-free seq counter) with their
// read cursors, and each user's event stream. messages, groups, friends, push and sync depend on
// this module; it depends on none of them (test/import-cycles.test.ts keeps it so).
export type { ConversationsTable } from './conversations.table.js';
export { ConversationKind, friendConversationKey, groupConversationKey } from './conversations.table.js';
export { setFriendConversationClosed, takeNextSeq } from './conversations.repo.js';
export type { UserEventsTable, ReadCursorsTable } from './events.table.js';
export { EVENT_BODY_CHARS, lastUserEventSeq, recordUserEvent, userEventsAfter } from './events.repo.js';
