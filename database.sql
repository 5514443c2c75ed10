-- weim MySQL 8 / MariaDB 10.11 schema.
-- Generated from migrations/ by `npm run schema:dump`; do not edit by hand.

-- 0001_users
create table `users` (`id` bigint unsigned primary key auto_increment, `username` varchar(20) not null, `password_hash` varchar(72) not null, `nickname` varchar(40) not null, `avatar` varchar(512) default '' not null, `sex` smallint default 0 not null, `real_name` varchar(40), `id_card_hmac` char(64), `id_card_masked` varchar(18), `realname_verified_at` bigint, `longitude` double precision, `latitude` double precision, `location_updated_at` bigint, `created_at` bigint not null, `updated_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create unique index `users_username_uq` on `users` (`username`);
create unique index `users_id_card_hmac_uq` on `users` (`id_card_hmac`);

-- 0002_token_revocations
create table `token_revocations` (`jti` varchar(36) primary key, `user_id` bigint unsigned not null, `expires_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create index `token_revocations_expires_at_idx` on `token_revocations` (`expires_at`);

-- 0010_uploads
create table `uploads` (`id` bigint unsigned primary key auto_increment, `user_id` bigint unsigned not null, `purpose` varchar(16) not null, `type` smallint not null, `store` varchar(16) not null, `object_key` varchar(255) character set ascii collate ascii_bin not null, `size` bigint not null, `mime` varchar(100) not null, `created_at` bigint not null) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
create unique index `uploads_object_key_uq` on `uploads` (`object_key`);
create index `uploads_user_created_idx` on `uploads` (`user_id`, `created_at`);
