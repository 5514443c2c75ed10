-- weim MySQL 8 / MariaDB 10.11 schema.
-- Generated from migrations/ by `npm run schema:dump`; do not edit by hand.

-- 0001_users
create table `users` (`id` bigint unsigned primary key auto_increment, `username` varchar(20) not null, `password_hash` varchar(72) not null, `nickname` varchar(40) not null, `avatar` varchar(512) default '' not null, `sex` smallint default 0 not null, `real_name` varchar(40), `id_card_hmac` char(64), `id_card_masked` varchar(18), `realname_verified_at` bigint, `longitude` double precision, `latitude` double precision, `location_updated_at` bigint, `created_at` bigint not null, `updated_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create unique index `users_username_uq` on `users` (`username`);
create unique index `users_id_card_hmac_uq` on `users` (`id_card_hmac`);

-- 0002_token_revocations
create table `token_revocations` (`jti` varchar(36) primary key, `user_id` bigint unsigned not null, `expires_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create index `token_revocations_expires_at_idx` on `token_revocations` (`expires_at`);

-- 0003_friends
create table `friends` (`user_id` bigint unsigned not null, `friend_id` bigint unsigned not null, `created_at` bigint not null, constraint `friends_pk` primary key (`user_id`, `friend_id`)) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create table `friend_requests` (`id` bigint unsigned primary key auto_increment, `user_lo` bigint unsigned not null, `user_hi` bigint unsigned not null, `from_uid` bigint unsigned not null, `to_uid` bigint unsigned not null, `channel` varchar(32) default '' not null, `reason` varchar(200) default '' not null, `status` smallint default 0 not null, `created_at` bigint not null, `updated_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create unique index `friend_requests_pair_uq` on `friend_requests` (`user_lo`, `user_hi`);
create index `friend_requests_to_status_idx` on `friend_requests` (`to_uid`, `status`, `id`);

-- 0004_groups
create table `groups` (`id` bigint unsigned primary key auto_increment, `name` varchar(30) not null, `owner_id` bigint unsigned not null, `member_count` integer default 0 not null, `created_at` bigint not null, `updated_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create index `groups_owner_idx` on `groups` (`owner_id`);
create table `group_members` (`group_id` bigint unsigned not null, `user_id` bigint unsigned not null, `role` smallint default 0 not null, `joined_at` bigint not null, constraint `group_members_pk` primary key (`group_id`, `user_id`)) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create index `group_members_user_idx` on `group_members` (`user_id`, `group_id`);
create table `group_join_requests` (`id` bigint unsigned primary key auto_increment, `group_id` bigint unsigned not null, `user_id` bigint unsigned not null, `reason` varchar(200) default '' not null, `status` smallint default 0 not null, `handled_by` bigint unsigned, `created_at` bigint not null, `updated_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create unique index `group_join_requests_pair_uq` on `group_join_requests` (`group_id`, `user_id`);
create index `group_join_requests_status_idx` on `group_join_requests` (`group_id`, `status`, `id`);

-- 0005_messages
create table `conversations` (`id` bigint unsigned primary key auto_increment, `conv_key` varchar(48) not null, `kind` smallint not null, `user_lo` bigint unsigned, `user_hi` bigint unsigned, `group_id` bigint unsigned, `last_seq` bigint default 0 not null, `last_message_at` bigint default 0 not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create unique index `conversations_key_uq` on `conversations` (`conv_key`);
create table `messages` (`id` bigint unsigned primary key auto_increment, `conversation_id` bigint unsigned not null, `seq` bigint not null, `sender_id` bigint unsigned not null, `ope` smallint not null, `to_id` bigint unsigned not null, `type` smallint not null, `body` text not null, `client_msg_id` varchar(64), `created_at` bigint not null, `withdrawn_at` bigint) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create unique index `messages_conversation_seq_uq` on `messages` (`conversation_id`, `seq`);
create unique index `messages_sender_client_uq` on `messages` (`sender_id`, `client_msg_id`);

-- 0006_sync
alter table `messages` add column `withdraw_seq` bigint;
create index `messages_conversation_withdraw_idx` on `messages` (`conversation_id`, `withdraw_seq`);
alter table `users` add column `event_seq` bigint default 0 not null;
alter table `group_members` add column `joined_seq` bigint default 0 not null;
create index `conversations_user_lo_idx` on `conversations` (`user_lo`);
create index `conversations_user_hi_idx` on `conversations` (`user_hi`);
create index `conversations_group_idx` on `conversations` (`group_id`);
create table `user_events` (`user_id` bigint unsigned not null, `seq` bigint not null, `cmd` smallint not null, `from_id` bigint unsigned not null, `to_id` bigint unsigned not null, `ope` smallint not null, `body` varchar(400) default '' not null, `created_at` bigint not null, constraint `user_events_pk` primary key (`user_id`, `seq`)) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create table `read_cursors` (`user_id` bigint unsigned not null, `conversation_id` bigint unsigned not null, `read_seq` bigint default 0 not null, `updated_at` bigint not null, constraint `read_cursors_pk` primary key (`user_id`, `conversation_id`)) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- 0010_uploads
create table `uploads` (`id` bigint unsigned primary key auto_increment, `user_id` bigint unsigned not null, `purpose` varchar(16) not null, `type` smallint not null, `store` varchar(16) not null, `object_key` varchar(255) character set ascii collate ascii_bin not null, `size` bigint not null, `mime` varchar(100) not null, `created_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create unique index `uploads_object_key_uq` on `uploads` (`object_key`);
create index `uploads_user_created_idx` on `uploads` (`user_id`, `created_at`);

-- 0020_search_index
create table `search_docs` (`kind` smallint not null, `entity_id` bigint unsigned not null, `text` varchar(64) character set utf8mb4 collate utf8mb4_bin not null, constraint `search_docs_pk` primary key (`kind`, `entity_id`)) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create table `search_grams` (`kind` smallint not null, `gram` varbinary(12) not null, `entity_id` bigint unsigned not null, constraint `search_grams_pk` primary key (`kind`, `gram`, `entity_id`)) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create table `search_outbox` (`id` bigint unsigned primary key auto_increment, `kind` smallint not null, `entity_id` bigint unsigned not null, `attempts` integer default 0 not null, `next_attempt_at` bigint not null, `created_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create index `search_outbox_due_idx` on `search_outbox` (`next_attempt_at`, `id`);

-- 0021_users_location
create index `users_location_idx` on `users` (`latitude`, `longitude`, `location_updated_at`);

-- 0022_users_geo_strip
alter table `users` add column `geo_strip` integer generated always as (floor((latitude + 90) * 100)) stored;
create index `users_geo_strip_idx` on `users` (`geo_strip`, `longitude`, `latitude`, `location_updated_at`);
drop index `users_location_idx` on `users`;

-- 0023_messages_client_id_binary
alter table messages modify client_msg_id varchar(64) character set utf8mb4 collate utf8mb4_bin null;

-- 0024_geo_strip_covering_sqlite

-- 0025_withdraw_index_partial_sqlite

-- 0026_user_events_body_4000
alter table user_events modify body varchar(4000) not null default '';

-- 0027_users_sessions_valid_after
alter table `users` add column `sessions_valid_after` bigint default 0 not null;

-- 0028_conversations_closed
alter table `conversations` add column `closed` smallint default 0 not null;
update conversations set closed = 1 where kind = 0 and not exists (select 1 from friends where friends.user_id = conversations.user_lo and friends.friend_id = conversations.user_hi);

-- 0029_push_progress
create table `push_progress` (`op` varchar(32) primary key, `done_through` bigint unsigned default 0 not null, `created_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create index `push_progress_created_at_idx` on `push_progress` (`created_at`);

-- 0030_read_cursors_by_conversation
create index `read_cursors_conversation_seq_idx` on `read_cursors` (`conversation_id`, `read_seq`);

-- 0031_messages_reply_to
alter table `messages` add column `reply_to` bigint unsigned;

-- 0032_mentions
alter table `messages` add column `mentions` varchar(1000);
create table `message_mentions` (`user_id` bigint unsigned not null, `conversation_id` bigint unsigned not null, `seq` bigint not null, constraint `message_mentions_pk` primary key (`user_id`, `conversation_id`, `seq`)) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- 0033_message_edits
alter table `messages` add column `edited_at` bigint;
create table `message_edits` (`conversation_id` bigint unsigned not null, `seq` bigint not null, `message_id` bigint unsigned not null, `body` text not null, `edited_at` bigint not null, constraint `message_edits_pk` primary key (`conversation_id`, `seq`)) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create index `message_edits_message_idx` on `message_edits` (`message_id`);

-- 0034_message_reactions
create table `message_reactions` (`message_id` bigint unsigned not null, `user_id` bigint unsigned not null, `emoji` varchar(64) character set utf8mb4 collate utf8mb4_bin not null, `created_at` bigint not null, constraint `message_reactions_pk` primary key (`message_id`, `emoji`, `user_id`)) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create table `reaction_events` (`conversation_id` bigint unsigned not null, `seq` bigint not null, `message_id` bigint unsigned not null, `user_id` bigint unsigned not null, `emoji` varchar(64) character set utf8mb4 collate utf8mb4_bin not null, `on` smallint not null, `created_at` bigint not null, constraint `reaction_events_pk` primary key (`conversation_id`, `seq`)) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- 0035_group_admin
alter table `group_members` add column `muted_until` bigint default 0 not null;
alter table `groups` add column `muted_all` smallint default 0 not null;
create table `group_events` (`conversation_id` bigint unsigned not null, `seq` bigint not null, `group_id` bigint unsigned not null, `actor_id` bigint unsigned not null, `kind` varchar(16) not null, `user_id` bigint unsigned default 0 not null, `value` bigint default 0 not null, `created_at` bigint not null, constraint `group_events_pk` primary key (`conversation_id`, `seq`)) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- 0036_group_notice
alter table `groups` add column `notice` varchar(500) default '' not null;

-- 0037_group_dissolved
alter table `groups` add column `dissolved_at` bigint;

-- 0038_group_join_mode
alter table `groups` add column `join_mode` smallint default 0 not null;
alter table `groups` add column `avatar` varchar(255) default '' not null;

-- 0039_webhook_outbox
create table `webhook_outbox` (`id` bigint unsigned primary key auto_increment, `event` varchar(32) not null, `order_key` varchar(40) not null, `payload` text not null, `attempts` integer default 0 not null, `next_attempt_at` bigint not null, `claimed_until` bigint default 0 not null, `claimed_by` varchar(40) default '' not null, `dead` smallint default 0 not null, `created_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create index `webhook_outbox_key_idx` on `webhook_outbox` (`order_key`, `dead`, `id`);
create index `webhook_outbox_due_idx` on `webhook_outbox` (`dead`, `next_attempt_at`, `id`);

-- 0040_admin
alter table `users` add column `banned_at` bigint;
alter table `users` add column `ban_reason` varchar(200) default '' not null;
create table `admin_audit` (`id` bigint unsigned primary key auto_increment, `action` varchar(32) not null, `target_id` bigint unsigned not null, `detail` text not null, `ip` varchar(64) not null, `created_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- 0041_devices
create table `devices` (`id` bigint unsigned primary key auto_increment, `user_id` bigint unsigned not null, `platform` varchar(16) not null, `token` varchar(255) not null, `created_at` bigint not null, `updated_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create unique index `devices_token_uq` on `devices` (`platform`, `token`);
create index `devices_user_idx` on `devices` (`user_id`);
alter table `users` add column `push_previews` smallint default 1 not null;

-- 0042_webhook_endpoints
alter table `webhook_outbox` add column `endpoint` varchar(40) default 'default' not null;
drop index `webhook_outbox_key_idx` on `webhook_outbox`;
drop index `webhook_outbox_due_idx` on `webhook_outbox`;
create index `webhook_outbox_key_idx` on `webhook_outbox` (`endpoint`, `order_key`, `dead`, `id`);
create index `webhook_outbox_due_idx` on `webhook_outbox` (`endpoint`, `dead`, `next_attempt_at`, `id`);

-- 0043_apps
create table `apps` (`id` bigint unsigned primary key auto_increment, `app_key` varchar(64) not null, `name` varchar(100) not null, `secret` varchar(255) not null, `enabled` smallint default 1 not null, `api` varchar(20) default 'woodylan' not null, `created_at` bigint not null, `updated_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create unique index `apps_key_uq` on `apps` (`app_key`);
