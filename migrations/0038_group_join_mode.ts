import type { Kysely } from 'kysely';

/**
 * `groups.join_mode`: how people become members, 0 approval (a request the owner or an admin
 * handles, weIm-go's way and the default), 1 open (a request joins at once), 2 invite (only by
 * `/im/group/invite` from the owner or an admin). `groups.avatar`: the group's picture (a URL).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('groups').addColumn('join_mode', 'smallint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('groups').addColumn('avatar', 'varchar(255)', (c) => c.notNull().defaultTo('')).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('groups').dropColumn('avatar').execute();
  await db.schema.alterTable('groups').dropColumn('join_mode').execute();
}
