import type { Kysely, Transaction } from 'kysely';
import type { UsersTable } from '../modules/users/index.js';
import type { TokenRevocationsTable } from '../modules/auth/index.js';
import type { UploadsTable } from '../modules/attachments/index.js';

/** The whole schema, composed from the tables each feature module owns. */
export interface Database {
  users: UsersTable;
  token_revocations: TokenRevocationsTable;
  uploads: UploadsTable;
}

export type Db = Kysely<Database>;
/** What repositories take first: the pool or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;
