import type { Kysely } from 'kysely';

/** `groups.notice`: the group's announcement (`/im/group/update`, shown by `/im/group/info`). */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('groups').addColumn('notice', 'varchar(500)', (c) => c.notNull().defaultTo('')).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('groups').dropColumn('notice').execute();
}
