import type { Kysely } from 'kysely';
import { dropIndex } from '../src/db/migration-kit.js';

/**
 * Several webhook receivers (`webhooks.endpoints`): each outbox row belongs to one endpoint (by
 * its name; `default` is `webhooks.url`'s), an event is written once per endpoint that wants it,
 * and each endpoint's events are delivered, ordered and retried on their own, so a receiver that
 * is down holds back nobody else's.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('webhook_outbox').addColumn('endpoint', 'varchar(40)', (c) => c.notNull().defaultTo('default')).execute();
  await dropIndex(db, 'webhook_outbox', 'webhook_outbox_key_idx');
  await dropIndex(db, 'webhook_outbox', 'webhook_outbox_due_idx');
  await db.schema.createIndex('webhook_outbox_key_idx').on('webhook_outbox').columns(['endpoint', 'order_key', 'dead', 'id']).execute();
  await db.schema.createIndex('webhook_outbox_due_idx').on('webhook_outbox').columns(['endpoint', 'dead', 'next_attempt_at', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await dropIndex(db, 'webhook_outbox', 'webhook_outbox_key_idx');
  await dropIndex(db, 'webhook_outbox', 'webhook_outbox_due_idx');
  await db.schema.createIndex('webhook_outbox_key_idx').on('webhook_outbox').columns(['order_key', 'dead', 'id']).execute();
  await db.schema.createIndex('webhook_outbox_due_idx').on('webhook_outbox').columns(['dead', 'next_attempt_at', 'id']).execute();
  await db.schema.alterTable('webhook_outbox').dropColumn('endpoint').execute();
}

