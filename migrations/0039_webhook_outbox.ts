import type { Kysely } from 'kysely';
import { tableEnd, withId } from '../src/db/migration-kit.js';

/**
 * `webhook_outbox`: events for the business's webhook receiver, written in the transaction of what
 * they report, delivered after commit in order per `order_key` (a conversation, a user, a group)
 * by whichever node claims them (`claimed_by` until `claimed_until`), deleted once delivered; `dead` = 1 after
 * `webhooks.max_attempts` failures (kept, counted, never retried).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await tableEnd(
    db,
    withId(db, db.schema.createTable('webhook_outbox'))
      .addColumn('event', 'varchar(32)', (c) => c.notNull())
      .addColumn('order_key', 'varchar(40)', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('claimed_until', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('claimed_by', 'varchar(40)', (c) => c.notNull().defaultTo(''))
      .addColumn('dead', 'smallint', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull()),
  ).execute();
  await db.schema.createIndex('webhook_outbox_key_idx').on('webhook_outbox').columns(['order_key', 'dead', 'id']).execute();
  await db.schema.createIndex('webhook_outbox_due_idx').on('webhook_outbox').columns(['dead', 'next_attempt_at', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_outbox').execute();
}
