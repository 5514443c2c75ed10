import type { Kysely } from 'kysely';
import { idType, tableEnd } from '../src/db/migration-kit.js';

/**
 * Group administration. `group_members.muted_until` (epoch ms; 0 not muted) and `groups.muted_all`
 * (1: only the owner and admins may send). `group_events`: what the owner and admins do (admin
 * set, mute, mute all, transfer) as events of the group conversation's stream at a seq of their own,
 * replayed in order by sync (Cmd 31).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('group_members').addColumn('muted_until', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('groups').addColumn('muted_all', 'smallint', (c) => c.notNull().defaultTo(0)).execute();
  await tableEnd(
    db,
    db.schema
      .createTable('group_events')
      .addColumn('conversation_id', idType(db), (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('group_id', idType(db), (c) => c.notNull())
      .addColumn('actor_id', idType(db), (c) => c.notNull())
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('user_id', idType(db), (c) => c.notNull().defaultTo(0))
      .addColumn('value', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('group_events_pk', ['conversation_id', 'seq']),
  ).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('group_events').execute();
  await db.schema.alterTable('groups').dropColumn('muted_all').execute();
  await db.schema.alterTable('group_members').dropColumn('muted_until').execute();
}
