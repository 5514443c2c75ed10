import type { Migration } from 'kysely';
import * as m0001 from './0001_users.js';
import * as m0002 from './0002_token_revocations.js';
import * as m0010 from './0010_uploads.js';

/**
 * Every migration, in order. Listed statically (not read from the folder) so they load the same
 * under tsx, vitest and a compiled build. Add new files here.
 */
export const migrations: Record<string, Migration> = {
  '0001_users': m0001,
  '0002_token_revocations': m0002,
  '0010_uploads': m0010,
};
