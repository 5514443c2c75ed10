import type { Kysely } from 'kysely';
import { idType } from '../src/db/migration-kit.js';

/**
 * `messages.reply_to`: the id of the message of the same conversation this one answers (checked by
 * the service before the message is stored), or null. Carried in frames (`ReplyTo`), sync and
 * history (`reply_to`). No index: nothing looks messages up by what they answer.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('reply_to', idType(db)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').dropColumn('reply_to').execute();
}
