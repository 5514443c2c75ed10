import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../src/db/migration-kit.js';

/**
 * `client_msg_id` compares byte for byte on MySQL too. Under the table's utf8mb4_unicode_ci,
 * `Abc` and `abc` from one sender collided in the unique (sender_id, client_msg_id) index while
 * the writer, which matches resends exactly, took them for two messages: the insert failed on
 * every retry and took the whole batch, other users' messages included, down with it. SQLite
 * compares text in binary already.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) !== 'mysql') return;
  await sql`alter table messages modify client_msg_id varchar(64) character set utf8mb4 collate utf8mb4_bin null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) !== 'mysql') return;
  await sql`alter table messages modify client_msg_id varchar(64) character set utf8mb4 collate utf8mb4_unicode_ci null`.execute(db);
}
