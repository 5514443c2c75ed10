import type { Migration } from 'kysely';
import * as m0001 from './0001_users.js';
import * as m0002 from './0002_token_revocations.js';
import * as m0003 from './0003_friends.js';
import * as m0004 from './0004_groups.js';
import * as m0005 from './0005_messages.js';
import * as m0006 from './0006_sync.js';
import * as m0010 from './0010_uploads.js';
import * as m0020 from './0020_search_index.js';
import * as m0021 from './0021_users_location.js';
import * as m0022 from './0022_users_geo_strip.js';
import * as m0023 from './0023_messages_client_id_binary.js';
import * as m0024 from './0024_geo_strip_covering_sqlite.js';
import * as m0025 from './0025_withdraw_index_partial_sqlite.js';
import * as m0026 from './0026_user_events_body_4000.js';
import * as m0027 from './0027_users_sessions_valid_after.js';
import * as m0028 from './0028_conversations_closed.js';
import * as m0029 from './0029_push_progress.js';
import * as m0030 from './0030_read_cursors_by_conversation.js';
import * as m0031 from './0031_messages_reply_to.js';
import * as m0032 from './0032_mentions.js';
import * as m0033 from './0033_message_edits.js';
import * as m0034 from './0034_message_reactions.js';
import * as m0035 from './0035_group_admin.js';
import * as m0036 from './0036_group_notice.js';
import * as m0037 from './0037_group_dissolved.js';
import * as m0038 from './0038_group_join_mode.js';
import * as m0039 from './0039_webhook_outbox.js';
import * as m0040 from './0040_admin.js';
import * as m0041 from './0041_devices.js';
import * as m0042 from './0042_webhook_endpoints.js';
import * as m0043 from './0043_apps.js';

/**
 * Every migration, in order. Listed statically (not read from the folder) so they load the same
 * under tsx, vitest and a compiled build. Add new files here.
 */
export const migrations: Record<string, Migration> = {
  '0001_users': m0001,
  '0002_token_revocations': m0002,
  '0003_friends': m0003,
  '0004_groups': m0004,
  '0005_messages': m0005,
  '0006_sync': m0006,
  '0010_uploads': m0010,
  '0020_search_index': m0020,
  '0021_users_location': m0021,
  '0022_users_geo_strip': m0022,
  '0023_messages_client_id_binary': m0023,
  '0024_geo_strip_covering_sqlite': m0024,
  '0025_withdraw_index_partial_sqlite': m0025,
  '0026_user_events_body_4000': m0026,
  '0027_users_sessions_valid_after': m0027,
  '0028_conversations_closed': m0028,
  '0029_push_progress': m0029,
  '0030_read_cursors_by_conversation': m0030,
  '0031_messages_reply_to': m0031,
  '0032_mentions': m0032,
  '0033_message_edits': m0033,
  '0034_message_reactions': m0034,
  '0035_group_admin': m0035,
  '0036_group_notice': m0036,
  '0037_group_dissolved': m0037,
  '0038_group_join_mode': m0038,
  '0039_webhook_outbox': m0039,
  '0040_admin': m0040,
  '0041_devices': m0041,
  '0042_webhook_endpoints': m0042,
  '0043_apps': m0043,
};
