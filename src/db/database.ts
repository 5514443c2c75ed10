import type { Kysely, Transaction } from 'kysely';
import type { ConversationsTable, ReadCursorsTable, UserEventsTable } from '../modules/conversations/index.js';
import type { MessageEditsTable, MessageMentionsTable, MessageReactionsTable, MessagesTable, ReactionEventsTable } from '../modules/messages/index.js';
import type { UsersTable } from '../modules/users/index.js';
import type { TokenRevocationsTable } from '../modules/auth/index.js';
import type { FriendRequestsTable, FriendsTable } from '../modules/friends/index.js';
import type { GroupEventsTable, GroupJoinRequestsTable, GroupMembersTable, GroupsTable } from '../modules/groups/index.js';
import type { UploadsTable } from '../modules/attachments/index.js';
import type { PushProgressTable } from '../modules/push/index.js';
import type { SearchDocsTable, SearchGramsTable, SearchOutboxTable } from '../search/index.js';
import type { WebhookOutboxTable } from '../modules/webhooks/webhooks.table.js';
import type { AdminAuditTable } from '../modules/admin/admin.table.js';
import type { AppsTable } from '../modules/apps/apps.table.js';
import type { DevicesTable } from '../modules/devices/devices.table.js';

/** The whole schema, composed from the tables each feature module owns. */
export interface Database {
  users: UsersTable;
  token_revocations: TokenRevocationsTable;
  friends: FriendsTable;
  friend_requests: FriendRequestsTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  group_join_requests: GroupJoinRequestsTable;
  conversations: ConversationsTable;
  messages: MessagesTable;
  message_mentions: MessageMentionsTable;
  message_edits: MessageEditsTable;
  group_events: GroupEventsTable;
  message_reactions: MessageReactionsTable;
  reaction_events: ReactionEventsTable;
  user_events: UserEventsTable;
  read_cursors: ReadCursorsTable;
  uploads: UploadsTable;
  push_progress: PushProgressTable;
  search_docs: SearchDocsTable;
  search_grams: SearchGramsTable;
  search_outbox: SearchOutboxTable;
  webhook_outbox: WebhookOutboxTable;
  admin_audit: AdminAuditTable;
  devices: DevicesTable;
  apps: AppsTable;
}

export type Db = Kysely<Database>;
/** What repositories take first: the pool or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;
