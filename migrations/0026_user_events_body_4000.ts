import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../src/db/migration-kit.js';

/**
 * A user event's body holds up to 4,000 characters: the push API stores what a business backend
 * pushes in the user's event stream, so that a device that was offline gets it by sync. SQLite
 * does not enforce a varchar's length.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) !== 'mysql') return;
  await sql`alter table user_events modify body varchar(4000) not null default ''`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) !== 'mysql') return;
  await sql`alter table user_events modify body varchar(400) not null default ''`.execute(db);
}
