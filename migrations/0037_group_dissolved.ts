import type { Kysely } from 'kysely';

/**
 * `groups.dissolved_at`: when the owner dissolved the group (null: it lives). A dissolved group takes
 * no messages, joins or changes, and leaves search; its members keep reading its history up to then.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('groups').addColumn('dissolved_at', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('groups').dropColumn('dissolved_at').execute();
}
