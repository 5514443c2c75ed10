import { type Kysely, sql } from 'kysely';

/**
 * `conversations.closed`: 1 once a friend pair's friendship has ended (set in the unfriend's
 * transaction, back to 0 when they are friends again). The message writer's counter upsert, which
 * locks the row, leaves a closed conversation's counter alone and reports the flag, so a message
 * racing an unfriend is refused without a statement more per batch. Group conversations stay 0.
 * Friend pairs that had ended their friendship before this migration start closed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('conversations').addColumn('closed', 'smallint', (c) => c.notNull().defaultTo(0)).execute();
  await sql`update conversations set closed = 1 where kind = 0 and not exists (select 1 from friends where friends.user_id = conversations.user_lo and friends.friend_id = conversations.user_hi)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('conversations').dropColumn('closed').execute();
}
